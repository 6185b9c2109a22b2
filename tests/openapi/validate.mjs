// Validate instances against the schemas of an OpenAPI 3.1 document with
// Ajv's JSON Schema 2020-12 validator (for tests/system/test_openapi.py).
//
// stdin: {"document": <the OpenAPI document>,
//         "checks": [{"name": "...", "schema": <a schema of the document>,
//                     "instance": <a value>}, ...]}
// stdout: {"failures": [{"name": "...", "errors": [...]}], "checked": N}
// The component schemas become one schema resource, and every
// "#/components/schemas/X" reference a reference into it.  Strict mode:
// a keyword Ajv does not know is an error, not ignored.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { readFileSync } from "node:fs";

const ROOT = "urn:ballast:openapi";

function rewrite(v) {
	if (Array.isArray(v))
		return v.map(rewrite);
	if (v === null || typeof v !== "object")
		return v;
	const out = {};
	for (const [k, x] of Object.entries(v)) {
		if (k === "$ref" && typeof x === "string" &&
		    x.startsWith("#/components/schemas/"))
			out[k] = ROOT + "#/$defs/" +
			    x.slice("#/components/schemas/".length);
		else
			out[k] = rewrite(x);
	}
	return out;
}

const input = JSON.parse(readFileSync(0, "utf8"));
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true,
    allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: ROOT,
    $defs: rewrite(input.document.components?.schemas ?? {}) });
const failures = [];
let checked = 0;
for (const c of input.checks) {
	let validate;
	try {
		validate = ajv.compile(rewrite(c.schema));
	} catch (e) {
		failures.push({ name: c.name, errors: ["schema: " + e.message] });
		continue;
	}
	checked++;
	if (!validate(c.instance))
		failures.push({ name: c.name, errors: validate.errors });
}
process.stdout.write(JSON.stringify({ failures, checked }) + "\n");
