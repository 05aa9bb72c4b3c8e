#ifndef EVENTCRM_CLZ4_SHIM_H
#define EVENTCRM_CLZ4_SHIM_H
#include <lz4.h>
#endif
