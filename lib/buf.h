/*
 * Growable, binary-safe byte buffers with a hard maximum fixed at init.
 * The content is always NUL-terminated (the NUL is not counted in len), so a
 * buffer holding text can be handed to C string functions, yet embedded NULs
 * are kept.  An append that would pass the maximum fails with -1 and leaves
 * the buffer unchanged: a peer can never make us grow without bound.
 */
#ifndef YOUJU_BUF_H
#define YOUJU_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *p;    /* owned; NUL-terminated; NULL until the first append */
	size_t len; /* bytes used, excluding the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* largest len allowed */
};

/* Sets up an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buffer may be initialised again. */
void buf_deinit(struct buf *b);
/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);

/* Each append returns 0, or -1 (buffer unchanged) past the maximum. */
__attribute__((warn_unused_result)) int buf_append(struct buf *b, const void *p,
						   size_t n);
__attribute__((warn_unused_result)) int buf_append_str(struct buf *b,
						       const char *s);
__attribute__((warn_unused_result)) int buf_append_char(struct buf *b, char c);
__attribute__((warn_unused_result, format(printf, 2, 3))) int
buf_printf(struct buf *b, const char *fmt, ...);
__attribute__((warn_unused_result, format(printf, 2, 0))) int
buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* Drops the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);
/* Shortens the content to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* Returns the content as a C string ("" when empty); borrowed. */
const char *buf_cstr(const struct buf *b);
/* Bytes that may still be appended. */
size_t buf_room(const struct buf *b);
/* Overwrites the content with zeros (for secrets), then empties it. */
void buf_wipe(struct buf *b);

#endif
