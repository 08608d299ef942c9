/*
 * pg: what needs no server (timestamp literals). The sink itself is
 * tested against a real PostgreSQL in tests/integration/0001-pg-sink.c.
 */
#include <stdint.h>

#include "rs_test.h"
#include "rumstream/pg.h"

int main(void) {
        char buf[40];

        rs_pg_timestamp(0, buf, sizeof(buf));
        RS_CHECK_STR(buf, "1970-01-01 00:00:00.000+00");
        rs_pg_timestamp(1763596800123LL, buf, sizeof(buf));
        RS_CHECK_STR(buf, "2025-11-20 00:00:00.123+00");
        rs_pg_timestamp(-1, buf, sizeof(buf)); /* floor, not truncation */
        RS_CHECK_STR(buf, "1969-12-31 23:59:59.999+00");
        rs_pg_timestamp(951782400000LL, buf, sizeof(buf)); /* leap day */
        RS_CHECK_STR(buf, "2000-02-29 00:00:00.000+00");
        return RS_TEST_DONE();
}
