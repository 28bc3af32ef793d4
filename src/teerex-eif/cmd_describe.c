/* teerex-eif describe: validate an EIF and print its sections and PCRs,
 * like nitro-cli describe-eif. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "eif_cli.h"
#include "teerex/codec.h"
#include "teerex/eif.h"

#define MAX_METADATA_JSON ((size_t)64 * 1024)

static void help(FILE *f)
{
    fprintf(f, "usage: teerex-eif describe FILE.eif [--json]\n\n"
               "Checks the header, the section table (contiguous sections, no overlap, no\n"
               "trailing bytes), the section order and the CRC-32; prints the sections,\n"
               "PCR0/1/2 and, for a signed image, PCR8 and whether the signature over PCR0\n"
               "verifies with the embedded certificate. --json prints one JSON object with\n"
               "\"Measurements\" as nitro-cli writes them.\n\n"
               "exit codes: 0 ok, 1 cannot read, 2 usage, 3 invalid EIF, 4 bad signature\n");
}

static const char *arch_name(uint16_t flags)
{
    return (flags & EIF_FLAG_ARM64) ? "aarch64" : "x86_64";
}

static json_t *to_json(const struct eif_image *img, json_t *meas, int sig_state)
{
    json_t *secs = json_array();
    for (int i = 0; secs && i < img->num_sections; i++) {
        const struct eif_section *s = &img->sections[i];
        json_array_append_new(secs, json_pack("{s:s, s:I, s:I, s:I}", "Type",
                                              eif_section_type_name(s->type), "Offset",
                                              (json_int_t)s->offset, "DataOffset",
                                              (json_int_t)(s->offset + EIF_SECTION_HEADER_LEN),
                                              "Size", (json_int_t)s->data.len));
    }
    char crc[16];
    snprintf(crc, sizeof(crc), "0x%08x", img->crc);
    json_t *j = json_pack("{s:i, s:s, s:I, s:I, s:s, s:o, s:O}", "EifVersion", img->version, "Arch",
                          arch_name(img->flags), "DefaultMemory", (json_int_t)img->default_mem,
                          "DefaultCpus", (json_int_t)img->default_cpus, "Crc32", crc, "Sections",
                          secs, "Measurements", meas);
    /* nitro-cli describe-eif's flags: the CRC was checked by eif_parse. */
    if (j) {
        json_object_set_new(j, "IsSigned", json_boolean(sig_state >= 0));
        json_object_set_new(j, "CheckCRC", json_true());
    }
    if (j && sig_state >= 0)
        json_object_set_new(j, "SignatureCheck", json_boolean(sig_state == 1));
    if (j && img->metadata >= 0) {
        const struct tr_slice *md = &img->sections[img->metadata].data;
        /* Untrusted JSON: parsed only when small (ours is ~250 bytes). */
        json_t *mj = md->len <= MAX_METADATA_JSON
                         ? json_loadb((const char *)md->ptr, md->len, JSON_REJECT_DUPLICATES, NULL)
                         : NULL;
        json_object_set_new(j, "Metadata", mj ? mj : json_null());
    }
    return j;
}

static void print_text(const struct eif_image *img, const struct eif_pcrs *p, int sig_state)
{
    char hex[2 * EIF_PCR_LEN + 1];
    printf("EIF version %u, %s, default memory %llu MiB, %llu CPUs, CRC-32 0x%08x\n", img->version,
           arch_name(img->flags), (unsigned long long)(img->default_mem >> 20),
           (unsigned long long)img->default_cpus, img->crc);
    printf("  #  type       offset        size\n");
    for (int i = 0; i < img->num_sections; i++)
        printf("  %-2d %-10s %-13llu %llu\n", i, eif_section_type_name(img->sections[i].type),
               (unsigned long long)img->sections[i].offset,
               (unsigned long long)img->sections[i].data.len);
    tr_hex_to_str(p->pcr0, EIF_PCR_LEN, hex);
    printf("PCR0 %s\n", hex);
    tr_hex_to_str(p->pcr1, EIF_PCR_LEN, hex);
    printf("PCR1 %s\n", hex);
    tr_hex_to_str(p->pcr2, EIF_PCR_LEN, hex);
    printf("PCR2 %s\n", hex);
    if (p->has_pcr8) {
        tr_hex_to_str(p->pcr8, EIF_PCR_LEN, hex);
        printf("PCR8 %s\n", hex);
        printf("signature: %s\n", sig_state == 1 ? "valid" : "INVALID");
    }
    if (img->metadata >= 0) {
        const struct tr_slice *md = &img->sections[img->metadata].data;
        printf("metadata: %.*s\n", (int)(md->len > 4096 ? 4096 : md->len), (const char *)md->ptr);
    }
}

int cmd_describe(int argc, char **argv)
{
    static const struct option LONG[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c, rc = EIF_EXIT_FAIL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", LONG, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            help(stdout);
            return EIF_EXIT_OK;
        } else {
            help(stderr);
            return EIF_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        help(stderr);
        return EIF_EXIT_USAGE;
    }
    const char *path = argv[optind];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "teerex-eif: %s: cannot read a regular file\n", path);
        if (fd >= 0)
            close(fd);
        return EIF_EXIT_FAIL;
    }
    size_t len = (size_t)st.st_size;
    void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (len && map == MAP_FAILED) {
        fprintf(stderr, "teerex-eif: %s: mmap failed\n", path);
        return EIF_EXIT_FAIL;
    }

    struct eif_image img;
    struct eif_pcrs pcrs;
    struct eif_signature sig;
    json_t *meas = NULL, *j = NULL;
    int sig_state = -1; /* -1 unsigned, 0 invalid, 1 valid */
    eif_signature_init(&sig);
    tr_result r = eif_parse(map, len, &img);
    if (tr_ok(r))
        r = eif_image_pcrs(&img, &pcrs);
    if (!tr_ok(r)) {
        cli_error(path, r);
        rc = EIF_EXIT_INVALID;
        goto out;
    }
    if (img.signature >= 0) {
        const struct tr_slice *s = &img.sections[img.signature].data;
        r = eif_sig_parse(s->ptr, s->len, &sig);
        if (tr_ok(r))
            r = eif_sig_verify(&sig, pcrs.pcr0);
        sig_state = tr_ok(r) ? 1 : 0;
        if (!tr_ok(r))
            cli_error("signature", r);
    }
    if (json) {
        if (!tr_ok(eif_pcrs_json(&pcrs, (struct json_t **)&meas)) ||
            !(j = to_json(&img, meas, sig_state)) ||
            json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
            fprintf(stderr, "teerex-eif: cannot print JSON\n");
            goto out;
        }
        fputc('\n', stdout);
    } else {
        print_text(&img, &pcrs, sig_state);
    }
    rc = sig_state == 0 ? EIF_EXIT_BADSIG : EIF_EXIT_OK;
out:
    json_decref(meas);
    json_decref(j);
    eif_signature_free(&sig);
    if (len)
        munmap(map, len);
    return rc;
}
