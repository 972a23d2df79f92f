/* Unit tests of claims.c that need no server: the notification a worker's report sends
 * and the coordinator reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "claims.h"

static void test_payload_id(void **state)
{
	(void)state;
	assert_int_equal(claims_payload_id("claim 42"), 42);
	assert_int_equal(claims_payload_id("claim 9007199254740993"), 9007199254740993LL);
	assert_int_equal(claims_payload_id(""), 0);        /* a request's notification */
	assert_int_equal(claims_payload_id("request"), 0);
	assert_int_equal(claims_payload_id("claim "), 0);
	assert_int_equal(claims_payload_id("claim 0"), 0);
	assert_int_equal(claims_payload_id("claim -3"), 0);
	assert_int_equal(claims_payload_id("claim 12x"), 0);
	assert_int_equal(claims_payload_id("claims 12"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
