/* The Wanda example plugin, unchanged, built against the frozen ABI 1.0 header (include/, a copy
 * of shears_plugin.h as released at 1.0): what a plugin compiled before ABI 1.1 looks like to the
 * host. The tests load it to check that 1.0 plugins keep loading and scoring unchanged. */
#include "../../../../Plugins/wanda-c/wanda_plugin.c"
#include "../../../../Plugins/wanda-c/wanda_score.c"
