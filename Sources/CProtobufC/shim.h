#ifndef SERVERLPA_CPROTOBUFC_SHIM_H
#define SERVERLPA_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
