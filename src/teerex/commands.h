/* Subcommands of the teerex CLI, one file each (cmd_<name>.c). Each returns
 * the process exit code (see exit_codes.h). */
#ifndef TEEREX_CLI_COMMANDS_H
#define TEEREX_CLI_COMMANDS_H

int cmd_prove(int argc, char **argv);  /* cmd_prove.c  (issue: client CLI + demo) */
int cmd_attest(int argc, char **argv); /* cmd_attest.c (issue: attestation) verify | show */
int cmd_health(int argc, char **argv); /* cmd_health.c (issue: client CLI + demo) */
int cmd_bb(int argc, char **argv);     /* cmd_bb.c: prover bundles (digest, fetch, upload, serve) */
int cmd_bb_fetch(int argc, char **argv);  /* cmd_bb_fetch.c */
int cmd_bb_upload(int argc, char **argv); /* cmd_bb_fetch.c */
int cmd_bb_serve(int argc, char **argv);  /* cmd_bb_serve.c: the provisioning service */

#endif
