/* libFuzzer target: address lists. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-check.h"
#include "mail/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_addr *a;
	size_t n = addr_parse((const char *)data, size, &a);

	if (n > MSG_MAX_ADDRS || (n == 0) != (a == NULL))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (a[i].addr == NULL || a[i].addr[0] == '\0')
			abort();
		fuzz_check_str(a[i].name);
		fuzz_check_str(a[i].addr);
	}
	addr_free(a, n);
	return 0;
}
