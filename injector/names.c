#include "names.h"

#include <string.h>

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

int valid_hex64(const char *s, size_t n)
{
	size_t i;

	if (n != 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int valid_digest(const char *s, size_t n)
{
	return n == DIGEST_LEN && memcmp(s, DIGEST_PREFIX, DIGEST_PREFIX_LEN) == 0 &&
	       valid_hex64(s + DIGEST_PREFIX_LEN, n - DIGEST_PREFIX_LEN);
}

/* A separator between alphanumeric runs is ".", "_", "__" or one or more "-". */
static int valid_separator(const char *s, size_t n)
{
	size_t i;

	if (n == 1 && (s[0] == '.' || s[0] == '_'))
		return 1;
	if (n == 2 && s[0] == '_' && s[1] == '_')
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] != '-')
			return 0;
	return n > 0;
}

/* One path component: [a-z0-9]+(separator[a-z0-9]+)* */
static int valid_component(const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		if (!is_lower_alnum(s[i]))
			return 0;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return 1;
		for (j = i; j < n && !is_lower_alnum(s[j]); j++)
			;
		if (j == n || !valid_separator(s + i, j - i))
			return 0;
		i = j;
	}
	return 0; /* empty component */
}

int valid_repo_name(const char *s, size_t n)
{
	size_t start = 0, i;

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (!valid_component(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

int valid_tag(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TAG_MAX_LEN || !(is_alnum(s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* strchr alone would also match the terminating NUL. */
static int is_restricted_punct(char c)
{
	return c != '\0' && strchr("!#$&^_.+-", c) != NULL;
}

/* RFC 6838 restricted-name: first an alphanumeric, then up to 126 more. */
static int valid_restricted_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 127 || !is_alnum(s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !is_restricted_punct(s[i]))
			return 0;
	return 1;
}

int valid_media_type(const char *s, size_t n)
{
	const char *slash;

	if (n == 0 || n > MEDIA_TYPE_MAX_LEN)
		return 0;
	slash = memchr(s, '/', n);
	if (slash == NULL)
		return 0;
	return valid_restricted_name(s, (size_t)(slash - s)) &&
	       valid_restricted_name(slash + 1, n - (size_t)(slash - s) - 1);
}
