// A real MCP client against Ballast's /mcp, for tests/system/test_mcp.py.
//
//   node client.mjs URL MODE < plan.json > result.json
//
// MODE: v1 (@modelcontextprotocol/sdk, 2025-11-25), legacy, auto or pin
// (@modelcontextprotocol/client: the legacy era, discover-then-fallback,
// 2026-07-28 only).  The key comes from $KEY; the plan names the calls:
//   {"search":[args...], "fetch":[id...], "read":[uri...], "list":true}
// and the result holds what each returned, for the test to compare.
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 }
    from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 }
    from '@modelcontextprotocol/client';

const [url, mode = 'v1'] = process.argv.slice(2);
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const plan = JSON.parse(Buffer.concat(chunks).toString() || '{}');
const requestInit = { headers: { Authorization: `Bearer ${process.env.KEY}` } };
const info = { name: 'ballast-test', version: '0.1.0' };

let client, transport;
if (mode === 'v1') {
  transport = new TransportV1(new URL(url), { requestInit });
  client = new ClientV1(info);
} else {
  transport = new TransportV2(new URL(url), { requestInit });
  const versionNegotiation = mode === 'pin' ? { mode: { pin: '2026-07-28' } } : { mode };
  client = new ClientV2(info, { versionNegotiation });
}

function errorOf(e) {
  return { error: true, code: e.code ?? null, name: e.constructor?.name ?? 'Error',
           message: String(e.message ?? e) };
}

async function call(name, args) {
  try {
    const r = await client.callTool({ name, arguments: args });
    return { isError: r.isError ?? false, structured: r.structuredContent ?? null,
             text: r.content?.[0]?.text ?? null };
  } catch (e) {
    return errorOf(e);
  }
}

const out = {};
try {
  await client.connect(transport);
} catch (e) {
  out.connect = errorOf(e);
  console.log(JSON.stringify(out));
  process.exit(0);
}
out.negotiated = mode === 'v1' ? transport.protocolVersion ?? null
    : client.getNegotiatedProtocolVersion?.() ?? null;
out.server = client.getServerVersion();
const tools = (await client.listTools()).tools;
out.tools = tools.map(t => t.name);
out.schemas = Object.fromEntries(tools.map(t => [t.name,
    { input: t.inputSchema, output: t.outputSchema ?? null }]));
out.search = [];
for (const a of plan.search ?? []) out.search.push(await call('search', a));
out.fetch = [];
for (const id of plan.fetch ?? []) out.fetch.push(await call('fetch', { id }));
if (plan.list) out.list = await call('list_collections', {});
if (plan.unknownTool) out.unknownTool = await call('no_such_tool', {});
out.resources = (await client.listResources()).resources.map(r => r.uri);
out.read = [];
for (const uri of plan.read ?? []) {
  try {
    const r = await client.readResource({ uri });
    out.read.push({ text: r.contents[0].text, uri: r.contents[0].uri,
                    mimeType: r.contents[0].mimeType });
  } catch (e) {
    out.read.push(errorOf(e));
  }
}
if (mode === 'v1' || mode === 'legacy') {
  await client.ping();
  out.ping = true;
}
await client.close();
console.log(JSON.stringify(out));
