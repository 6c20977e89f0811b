/* rdp-none.c: what a build without FreeRDP 2 has in place of rdp.c and rdp-cert.c: no RDP
 * (broker_run refuses --rdp). Not a fallback server. */
#include <errno.h>

#include "broker-internal.h"

bool broker_rdp_available(void)
{
	return false;
}

void *rdp_session_thread(void *arg)
{
	(void)arg;
	return NULL; /* never started: broker_run does not listen for RDP */
}

int rdp_tls_load(struct broker *b)
{
	(void)b;
	return -ENOSYS;
}

void rdp_log_init(void)
{
}
