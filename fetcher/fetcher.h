/*
 * The fetcher: one short-lived process per sync run, started by the
 * parent at indexd's request (IMSG_FETCH_SPAWN) under its own uid, with
 * its channel to indexd as fd 3 and nothing else.  It reads one
 * IMSG_FETCH_START, closes its sandbox around what the connector needs
 * (network, a few read-only paths), runs the connector and sends
 * IMSG_FETCH_DOC / IMSG_FETCH_KEEP and finally IMSG_FETCH_DONE or
 * IMSG_FETCH_ERROR, then exits.  No database, no keys, no other peer.
 */
#ifndef BALLAST_FETCHER_H
#define BALLAST_FETCHER_H

__attribute__((noreturn)) void	fetcher_main(int argc, char **argv);

#endif
