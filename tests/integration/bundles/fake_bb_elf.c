/* A fake prover that is an ELF binary (the shell-script fake cannot run
 * through a bundled loader): the on-demand tests pack it into a fake
 * @aztec/bb.js release, so the whole provisioning pipeline (integrity,
 * extraction, Debian runtime, loader closure, `--version`) runs for real
 * while proving stays instant. `--version` prints FAKE_BB_VERSION (compiled
 * in); `prove ... -o DIR` writes a proof of 3 fields of '0' (and a vk and
 * public inputs for --scheme ultra_honk), like tests/integration/teerexd/fake-bb. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int put(const char *dir, const char *name, const char *text)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *scheme = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("fake-elf-bb\n");
            return 0;
        }
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--scheme") == 0 && i + 1 < argc)
            scheme = argv[++i];
    }
    if (argc < 2 || strcmp(argv[1], "prove") != 0 || out == NULL) {
        fprintf(stderr, "fake bb: usage: prove ... -o DIR\n");
        return 2;
    }
    mkdir(out, 0700);
    char proof[97];
    memset(proof, '0', 96);
    proof[96] = '\0';
    if (put(out, "proof", proof) != 0)
        return 1;
    if (strcmp(scheme, "ultra_honk") == 0 &&
        (put(out, "vk", "fake-vk") != 0 ||
         put(out, "public_inputs", "11111111111111111111111111111111") != 0))
        return 1;
    fprintf(stderr, "fake bb: proof written\n");
    return 0;
}
