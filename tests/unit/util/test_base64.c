/* test_base64.c - table-driven tests of src/util/base64.c: the RFC 4648
 * section 10 vectors both ways, every invalid form decode must refuse
 * (padding, length, alphabet, whitespace, non-zero trailing bits, padding
 * inside), output bounds on both sides, and a round trip of every byte value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/base64.h"
#include "util/buf.h"
#include "util/log.h"

static int failures;

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			print_error(__VA_ARGS__);                                        \
			failures++;                                                      \
		}                                                                        \
	} while (0)

/* A byte string that may hold NUL: pointer and explicit length. */
#define B(s) s, sizeof(s) - 1

/* Printable form of bytes for failure messages. */
static const char *
show(char *dst, size_t cap, const void *p, size_t n)
{
	if (p == NULL)
		return "(invalid)";
	return log_escape(dst, cap, p, n);
}

static const struct {
	const char *name;
	const char *raw;
	size_t rawlen;
	const char *b64;
	size_t b64len;
} vectors[] = {
	/* RFC 4648 10 */
	{ "empty", B(""), B("") },
	{ "f", B("f"), B("Zg==") },
	{ "fo", B("fo"), B("Zm8=") },
	{ "foo", B("foo"), B("Zm9v") },
	{ "foob", B("foob"), B("Zm9vYg==") },
	{ "fooba", B("fooba"), B("Zm9vYmE=") },
	{ "foobar", B("foobar"), B("Zm9vYmFy") },
	/* the last two alphabet characters and binary bytes */
	{ "plus slash", B("\xfb\xff"), B("+/8=") },
	{ "all bits", B("\xff\xff\xff"), B("////") },
	{ "zeros", B("\0\0\0"), B("AAAA") },
	{ "NUL inside", B("\0alice\0secret"), B("AGFsaWNlAHNlY3JldA==") },
	{ "Username:", B("Username:"), B("VXNlcm5hbWU6") },
	{ "Password:", B("Password:"), B("UGFzc3dvcmQ6") },
};

static void
test_encode(void **state)
{
	struct buf b;
	char g[128], w[128];

	(void)state;
	failures = 0;
	buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		int r;

		buf_clear(&b);
		r = base64_encode(vectors[i].raw, vectors[i].rawlen, &b);
		CHECK(r == 0 && b.len == vectors[i].b64len &&
			  memcmp(b.data ? b.data : "", vectors[i].b64, b.len) == 0,
		    "%s: got %d \"%s\", want 0 \"%s\"\n", vectors[i].name, r,
		    show(g, sizeof g, b.data ? b.data : "", b.len),
		    show(w, sizeof w, vectors[i].b64, vectors[i].b64len));
		CHECK(BASE64_ENCODED_LEN(vectors[i].rawlen) == vectors[i].b64len,
		    "%s: BASE64_ENCODED_LEN got %zu, want %zu\n", vectors[i].name,
		    (size_t)BASE64_ENCODED_LEN(vectors[i].rawlen), vectors[i].b64len);
	}
	buf_reset(&b);
	assert_int_equal(failures, 0);
}

static void
test_decode(void **state)
{
	char out[64], g[128], w[128];

	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		size_t n = 12345;
		int r = base64_decode(span_make(vectors[i].b64, vectors[i].b64len), out, sizeof out,
		    &n);

		CHECK(r == 0 && n == vectors[i].rawlen && memcmp(out, vectors[i].raw, n) == 0,
		    "%s: got %s, want \"%s\"\n", vectors[i].name,
		    r == 0 ? show(g, sizeof g, out, n) : "-1",
		    show(w, sizeof w, vectors[i].raw, vectors[i].rawlen));
	}
	assert_int_equal(failures, 0);
}

static const struct {
	const char *name;
	const char *in;
	size_t len;
} invalid[] = {
	{ "no padding (2 chars)", B("Zg") },
	{ "no padding (3 chars)", B("Zm8") },
	{ "short padding", B("Zg=") },
	{ "one char", B("Z") },
	{ "five chars", B("Zm9vY") },
	{ "too much padding", B("Zg===") },
	{ "three pads", B("Z===") },
	{ "all padding", B("====") },
	{ "lone pad group", B("Zm9v====") },
	{ "pad first", B("=Zg=") },
	{ "pad between", B("Z=g=") },
	{ "pad then data", B("Zm=v") },
	{ "padding mid-input", B("Zg==Zm9v") },
	{ "one pad mid-input", B("Zm8=Zm9v") },
	{ "bare =", B("=") },
	{ "leading space", B(" Zm9") },
	{ "trailing space", B("Zm9 ") },
	{ "space inside", B("Zm9v Zm9") },
	{ "tab", B("Zm9\t") },
	{ "CRLF", B("Zm\r\n") },
	{ "LF", B("Zm9\n") },
	{ "NUL", B("Zm9\0") },
	{ "url-safe minus", B("Zm9-") },
	{ "url-safe underscore", B("Zm9_") },
	{ "star", B("****") },
	{ "dot", B("Zm9.") },
	{ "high octet", B("Zm\xc3\xa9") },
	{ "DEL", B("Zm9\x7f") },
	{ "trailing bits after 1 byte", B("Zh==") },
	{ "trailing bits after 1 byte (max)", B("Z/==") },
	{ "trailing bits after 2 bytes", B("Zm9=") },
	{ "trailing bits after 2 bytes (max)", B("Zm/=") },
};

static void
test_decode_invalid(void **state)
{
	char out[64], g[128];

	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		size_t n = 12345;
		struct span in = span_make(invalid[i].in, invalid[i].len);
		int r = base64_decode(in, out, sizeof out, &n);

		CHECK(r == -1 && n == 12345,
		    "%s: \"%s\": got %d (len %zu), want -1 (len untouched)\n", invalid[i].name,
		    show(g, sizeof g, invalid[i].in, invalid[i].len), r, n);
	}
	assert_int_equal(failures, 0);
}

/* A span cut short of a group fails, even when the bytes after it would complete it. */
static void
test_decode_truncated(void **state)
{
	char out[64];

	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		for (size_t len = 1; len < vectors[i].b64len; len++) {
			size_t n = 0;
			int r;

			if (len % 4 == 0)
				continue;
			r = base64_decode(span_make(vectors[i].b64, len), out, sizeof out, &n);
			CHECK(r == -1, "%s cut to %zu: got %d, want -1\n", vectors[i].name, len, r);
		}
	}
	assert_int_equal(failures, 0);
}

/* The decoded size must fit outcap exactly; the padding does not count. */
static void
test_decode_capacity(void **state)
{
	static const struct {
		const char *name, *in;
		size_t cap;
		int want;
	} cases[] = {
		{ "exact", "Zm9vYmFy", 6, 0 },
		{ "one short", "Zm9vYmFy", 5, -1 },
		{ "padding not counted", "Zm9vYg==", 4, 0 },
		{ "padded one short", "Zm9vYg==", 3, -1 },
		{ "empty into nothing", "", 0, 0 },
		{ "one byte into nothing", "Zg==", 0, -1 },
	};
	char out[16];

	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = 0;
		int r = base64_decode(span_cstr(cases[i].in), out, cases[i].cap, &n);

		CHECK(r == cases[i].want, "%s: got %d, want %d\n", cases[i].name, r, cases[i].want);
	}
	assert_int_equal(failures, 0);
}

/* Encoding appends; past the buf's max it fails and leaves the buf as it was. */
static void
test_encode_bounds(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_append_str(&b, "334 "), 0);
	assert_int_equal(base64_encode("foo", 3, &b), 0);
	assert_string_equal(b.data, "334 Zm9v");
	assert_int_equal(base64_encode("f", 1, &b), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "334 Zm9v");
	buf_clear(&b);
	assert_int_equal(base64_encode("foobar", 6, &b), 0); /* 8 of 10 */
	buf_reset(&b);

	/* Longer than one internal chunk, to join chunks. */
	buf_init(&b, 4096);
	{
		unsigned char raw[1000];
		unsigned char back[1000];
		size_t n = 0;

		for (size_t i = 0; i < sizeof raw; i++)
			raw[i] = (unsigned char)(i * 7 + 3);
		assert_int_equal(base64_encode(raw, sizeof raw, &b), 0);
		assert_int_equal(b.len, BASE64_ENCODED_LEN(sizeof raw));
		assert_int_equal(base64_decode(span_make(b.data, b.len), back, sizeof back, &n), 0);
		assert_int_equal(n, sizeof raw);
		assert_memory_equal(back, raw, n);
	}
	buf_reset(&b);
}

/* Every byte value, at every position in a group, survives the round trip. */
static void
test_roundtrip(void **state)
{
	unsigned char raw[256 + 2], back[sizeof raw];
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)i;
	buf_init(&b, 1024);
	for (size_t off = 0; off < 3; off++) {
		for (size_t len = 0; len + off <= sizeof raw; len += 37) {
			struct span enc;
			size_t n = 0;

			buf_clear(&b);
			assert_int_equal(base64_encode(raw + off, len, &b), 0);
			enc = span_make(b.data ? b.data : "", b.len);
			assert_int_equal(base64_decode(enc, back, sizeof back, &n), 0);
			assert_int_equal(n, len);
			if (len > 0)
				assert_memory_equal(back, raw + off, len);
		}
	}
	buf_reset(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_capacity),
		cmocka_unit_test(test_encode_bounds),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
