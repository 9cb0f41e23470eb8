/* events_hooks.c - the recorder's hooks, NULL while none is installed
 * (events.h; events.c sets them). */
#include "events.h"

const struct events_hooks *events_hooks;
