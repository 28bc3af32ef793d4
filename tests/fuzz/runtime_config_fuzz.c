/* Target functions: rt_config_parse, rt_config_validate (the teerex-init
 * configuration file; it is parsed as untrusted bytes). */
#include <stdint.h>
#include <string.h>

#include "rt_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_config c;
    size_t line = 0;
    rt_config_init(&c);
    tr_result r = rt_config_parse(&c, data, size, &line);
    if (!tr_ok(r) && line == 0 && r.err != TR_ERR_RT_CONFIG_LIMIT)
        __builtin_trap(); /* a line error must name its line */
    if (c.n_children > RT_MAX_CHILDREN || c.n_env > RT_MAX_ENV)
        __builtin_trap();
    for (size_t i = 0; i < c.n_children; i++) {
        if (c.children[i].argc == 0 || c.children[i].argv[c.children[i].argc] != NULL ||
            c.children[i].argv[0][0] != '/')
            __builtin_trap();
    }
    if (c.console_buffer < RT_CONSOLE_BUF_MIN || c.console_buffer > RT_CONSOLE_BUF_MAX)
        __builtin_trap();
    tr_ignore(rt_config_validate(&c));
    rt_config_free(&c);
    return 0;
}
