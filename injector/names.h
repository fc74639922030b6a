/*
 * Grammars for the strings that come from the payload's index.txt or from a
 * request path. Anything that passes is plain printable ASCII with no spaces,
 * so it is safe to compare, log and echo into response headers.
 */
#ifndef INJECTOR_NAMES_H
#define INJECTOR_NAMES_H

#include <stddef.h>

#define NAME_MAX_LEN 255       /* OCI distribution: repository name length */
#define TAG_MAX_LEN 128        /* OCI distribution: tag length */
#define MEDIA_TYPE_MAX_LEN 255 /* RFC 6838: 127 + "/" + 127 */
#define DIGEST_PREFIX "sha256:"
#define DIGEST_PREFIX_LEN 7
#define DIGEST_LEN (DIGEST_PREFIX_LEN + 64)

/* valid_hex64 accepts exactly 64 lowercase hex digits. */
int valid_hex64(const char *s, size_t n);

/* valid_digest accepts "sha256:" followed by 64 lowercase hex digits. */
int valid_digest(const char *s, size_t n);

/* valid_repo_name accepts an OCI repository path such as "airgap/registry". */
int valid_repo_name(const char *s, size_t n);

/* valid_tag accepts [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
int valid_tag(const char *s, size_t n);

/* valid_media_type accepts an RFC 6838 type/subtype without parameters. */
int valid_media_type(const char *s, size_t n);

#endif
