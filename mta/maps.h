/*
 * Lookup tables for youju-mta in Postfix's formats (access(5), cidr_table(5),
 * regexp_table(5), pcre_table(5)): "type:/path" where type is hash, btree,
 * lmdb, texthash or none (a plain "pattern value" text file, read directly:
 * no postmap step), cidr, regexp or pcre (pattern tables with "!"
 * negation and nested "if PATTERN" ... "endif" blocks), or mysql (a
 * mysql_table(5) file that youju-authd runs: youju-mta holds no database
 * credentials, so each lookup is a MAPLOOKUP round trip to the daemon,
 * blocking: call it from worker threads only).  Other types are refused
 * when the map is opened.  A file table re-reads its file when the
 * file's mtime, size or inode changed (checked at most once a second);
 * when that fails the old contents stay.  Lookups are thread-safe (worker
 * threads evaluate restrictions), and tri-state as DESIGN asks.
 */
#ifndef MTA_MAPS_H
#define MTA_MAPS_H

#include <stdbool.h>
#include <stddef.h>

/* Longest value (the right-hand side) kept, and longest key looked up. */
#define MAP_VALUE_MAX 1024
#define MAP_KEY_MAX   1024
/* Biggest table file read. */
#define MAP_FILE_MAX (64 * 1024 * 1024)

struct map;

enum map_status {
	MAP_NOTFOUND,
	MAP_FOUND,
	MAP_TEMPFAIL, /* the table cannot be read */
};

/* A network for CIDR matching (also used by mynetworks). */
struct map_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

/* Parses "a.b.c.d[/n]", "[v6][/n]" or "v6[/n]".  Host bits set beyond the
   prefix are an error, as in Postfix.  Returns true on success. */
bool map_net_parse(const char *text, size_t len, struct map_net *net_r);
/* True when the address text (IPv4, IPv6, v4-mapped v6) is inside net. */
bool map_net_match(const struct map_net *net, const char *addr);

/*
 * Opens spec ("hash:/etc/x", "cidr:/etc/y", "/etc/z", ...) and reads it.
 * Returns the map (free with map_free) or NULL with a message in err
 * (errsz bytes), e.g. "unsupported map type mysql" or
 * "/etc/x, line 3: bad regular expression".
 */
struct map *map_open(const char *spec, char *err, size_t errsz);
void map_free(struct map **m);
/* The spec as given (borrowed until map_free). */
const char *map_spec(const struct map *m);
/* True for text and mysql tables (exact keys: the access(5) partial
   lookups apply); false for cidr, regexp and pcre (one lookup with the
   whole string). */
bool map_is_fixed(const struct map *m);
/* True when lookups are answered from memory (every type but mysql:, a
   youju-authd round trip); a changed file is still read again first. */
bool map_is_local(const struct map *m);
/*
 * Looks key up (text tables: case-insensitively; pattern tables: the first
 * matching rule, $1..$9 substituted; mysql: the lower-cased key is sent to
 * youju-authd, whose answer "no such table" or no answer is MAP_TEMPFAIL).  The
 * value (NUL-terminated) goes to val (valsz bytes, truncated).  Re-reads a
 * changed file first.
 */
enum map_status map_lookup(struct map *m, const char *key, char *val,
			   size_t valsz);

/*
 * The youju-authd socket mysql: tables talk to (authd_socket).  Call
 * before opening maps; later calls apply to maps opened afterwards.
 */
void map_set_authd_socket(const char *path);

/* For tests: loads a table from text instead of a file. */
struct map *map_from_text(const char *type, const char *text, size_t len,
			  char *err, size_t errsz);

#endif
