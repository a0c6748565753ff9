/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rs_err: the one result code of the gateway (libmodbus errno, CURLcode,
 * SQLite and libcoap codes are mapped into it at each adapter's edge and
 * nowhere else). RS_OK is 0, so `rc = f(); if(rc) goto out;` works. Details
 * travel separately (an error buffer filled with a full sentence).
 */
#ifndef RS_ERR_H
#define RS_ERR_H

enum rs_err {
  RS_OK = 0,
  RS_ERR_NOMEM,     /* out of memory */
  RS_ERR_IO,        /* a file or socket operation failed */
  RS_ERR_DB,        /* the database failed (corrupt, schema, constraint, SQL) */
  RS_ERR_CONFLICT,  /* the state was not what the caller expected; nothing changed */
  RS_ERR_NOT_FOUND, /* no such row/object */
  RS_ERR_INVALID,   /* an argument or input was invalid */
  RS_ERR_TIMEOUT,   /* a peer did not answer in time */
  RS_ERR_PROTOCOL,  /* a peer answered something we cannot use */
  RS_ERR_FULL,      /* disk (or database size limit) full; nothing committed is lost */
  RS_ERR_BUSY,      /* locked by someone else; retry later */
  RS_ERR_AUTH       /* credentials refused */
};

/* A short English description of rc ("disk full"); never NULL. */
const char *rs_strerror(enum rs_err rc);

#endif
