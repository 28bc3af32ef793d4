/* Shared inside lib/bundle: the sorted file list of a bundle. */
#ifndef TEEREX_BUNDLE_INTERNAL_H
#define TEEREX_BUNDLE_INTERNAL_H

#include "teerex/bundle.h"

struct bundle_file {
    char rel[BUNDLE_NAME_MAX + 8]; /* "bb" or "lib/<name>" */
};

struct bundle_files {
    struct bundle_file f[BUNDLE_MAX_FILES];
    size_t n;
};

/* The files of b sorted by path, layout checked (TR_ERR_BUNDLE_LAYOUT); a
 * one-file bundle lists "bb". */
TR_RESULT bundle_list(const struct bundle *b, struct bundle_files *out);
/* Opens one listed file read-only, never through a symlink. */
TR_RESULT bundle_open_file(const struct bundle *b, const char *rel, int *out_fd);

#endif
