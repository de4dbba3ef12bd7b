/* Verified-credentials cache; see credcache.h. */
#include "credcache.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

#include "buf.h"
#include "cache.h"
#include "str.h"

#define CREDCACHE_MAX_ENTRIES 100000
#define CREDCACHE_MAC_LEN     32 /* SHA-256 */
/* stored hash + NUL + password; longer ones are simply not cached */
#define CREDCACHE_INPUT_MAX 4096

static struct cache *credcache;
static unsigned char credcache_key[32];

int credcache_init(void)
{
	if (RAND_bytes(credcache_key, sizeof credcache_key) != 1)
		return -1;
	credcache = cache_new(CREDCACHE_MAX_ENTRIES, &cache_string_ops);
	return 0;
}

void credcache_deinit(void)
{
	cache_free(&credcache);
	explicit_bzero(credcache_key, sizeof credcache_key);
}

void credcache_clear(void)
{
	if (credcache != NULL)
		cache_clear(credcache);
}

/* hex HMAC-SHA256(key, stored NUL password) into hex[65]; 0 or -1 */
static int credcache_mac(const char *stored, const char *password, char *hex)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	struct buf in;
	buf_init(&in, CREDCACHE_INPUT_MAX);
	int rc = -1;
	if (buf_append(&in, stored, strlen(stored) + 1) == 0 &&
	    buf_append_str(&in, password) == 0 &&
	    HMAC(EVP_sha256(), credcache_key, sizeof credcache_key,
		 (const unsigned char *)in.p, in.len, mac, &maclen) != NULL &&
	    maclen == CREDCACHE_MAC_LEN) {
		static const char digits[] = "0123456789abcdef";
		for (unsigned i = 0; i < maclen; i++) {
			hex[2 * i] = digits[mac[i] >> 4];
			hex[2 * i + 1] = digits[mac[i] & 15];
		}
		hex[2 * maclen] = '\0';
		rc = 0;
	}
	buf_wipe(&in);
	buf_deinit(&in);
	explicit_bzero(mac, sizeof mac);
	return rc;
}

bool credcache_check(const char *login, const char *stored,
		     const char *password, uint64_t now_ms)
{
	if (credcache == NULL)
		return false;
	void *v = NULL;
	if (cache_get(credcache, login, now_ms, &v) != CACHE_HIT)
		return false;
	char want[2 * CREDCACHE_MAC_LEN + 1];
	bool ok = credcache_mac(stored, password, want) == 0 &&
		  strlen(v) == 2 * CREDCACHE_MAC_LEN &&
		  str_secure_eq(want, v, 2 * CREDCACHE_MAC_LEN);
	cache_string_ops.free(v);
	return ok;
}

void credcache_remember(const char *login, const char *stored,
			const char *password, uint64_t ttl_ms, uint64_t now_ms)
{
	char mac[2 * CREDCACHE_MAC_LEN + 1];
	if (credcache == NULL || ttl_ms == 0 ||
	    credcache_mac(stored, password, mac) < 0)
		return;
	cache_put(credcache, login, mac, ttl_ms, now_ms);
}
