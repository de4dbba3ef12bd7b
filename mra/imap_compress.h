/*
 * COMPRESS=DEFLATE (RFC 4978) for one connection: raw deflate (RFC 1951)
 * both ways, zlib.  The connection layer (mra/conn.c) reads the socket
 * into imap_compress_raw_in() and inflates into its input buffer, and
 * deflates its output buffer into imap_compress_raw_out() and sends that.
 *
 * Memory.  While traffic flows a connection holds a deflater of window
 * 2^IMAP_COMPRESS_WBITS with memLevel IMAP_COMPRESS_MEMLEVEL (about
 * 38 KiB) and an inflater with the 32 KiB window the client's compressor
 * may refer back into (about 39 KiB).  A connection quiet for
 * IMAP_COMPRESS_SLEEP_MS is put to sleep by a process-wide sweep: the
 * deflater is freed (its stream ended on a sync flush, so a new deflater
 * continues the same raw stream, only without history), and the inflater
 * is reduced to what restores it exactly: its window (only as much as the
 * client ever sent, kept zlib-compressed above 1 KiB) and the unused bits
 * of the last byte taken.  Idle cost: a few hundred bytes for a client
 * that sent only commands.  A client that flushes with Z_PARTIAL_FLUSH
 * leaves the inflater inside a block, so its inflater stays awake
 * (about 39 KiB) and only the deflater sleeps.
 */
#ifndef YOUJU_MRA_IMAP_COMPRESS_H
#define YOUJU_MRA_IMAP_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct ev_loop;
struct imap_compress;
struct imap_ctx;

/* log2 of the deflater's window: back-references reach 4 KiB */
#define IMAP_COMPRESS_WBITS 12
/* zlib memLevel of the deflater: 2^(5+9) bytes for hash and pending */
#define IMAP_COMPRESS_MEMLEVEL 5
/* compressed input buffered before inflating (not read beyond) */
#define IMAP_COMPRESS_IN_MAX (16 * 1024)
/* compressed output buffered before deflating more */
#define IMAP_COMPRESS_OUT_HIGH (64 * 1024)
/* quiet time after which a connection's zlib state is put to sleep */
#define IMAP_COMPRESS_SLEEP_MS 1000

/* A new compression context; loop: the process's loop for the sleep
   sweep (NULL: no sweep, imap_compress_sleep() by hand).  Free with
   imap_compress_free(). */
struct imap_compress *imap_compress_new(struct ev_loop *loop);
void imap_compress_free(struct imap_compress **z);

/* The compressed input to fill from the socket (bounded by
   IMAP_COMPRESS_IN_MAX) and the compressed output to send; borrowed
   until imap_compress_free(). */
struct buf *imap_compress_raw_in(struct imap_compress *z);
struct buf *imap_compress_raw_out(struct imap_compress *z);

/* Inflates raw input into in (at most buf_room(in)).  1 progress, 0
   nothing to do, -1 a broken or ended stream (errno EPROTO) or no memory
   (ENOMEM). */
int imap_compress_inflate(struct imap_compress *z, struct buf *in);
/* True when raw input waits to be inflated. */
bool imap_compress_in_pending(const struct imap_compress *z);

/* Deflates out (consuming what was taken) into the raw output while that
   is below IMAP_COMPRESS_OUT_HIGH; once out is empty the stream is sync
   flushed (RFC 4978 §4: each response reaches the client whole).  1
   progress, 0 nothing to do, -1 zlib failure. */
int imap_compress_deflate(struct imap_compress *z, struct buf *out);
/* Compressed bytes waiting to be sent, plus one when zlib holds more
   (out may be empty): 0 means all is out. */
size_t imap_compress_out_len(const struct imap_compress *z);

/* Frees the deflater when its output is all sent, and the inflater when
   no input waits and it is between blocks.  0 both asleep (or already),
   -1 not (all) now. */
int imap_compress_sleep(struct imap_compress *z);
/* Heap bytes held by z besides zlib's own allocations, plus zlib's
   (counted through its allocator).  For tests and the bench. */
size_t imap_compress_footprint(const struct imap_compress *z);

/* COMPRESS DEFLATE (RFC 4978 §3), in the authenticated and selected
   states. */
void imap_compress_cmd(struct imap_ctx *x);

#endif
