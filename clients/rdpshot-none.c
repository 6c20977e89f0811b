/* rdpshot-none.c: what a build without FreeRDP 2's client libraries has in place of rdpshot.c:
 * no `hyperdesk shot rdp://`. Not a fallback client. */
#include <stdio.h>

#include "clients.h"

bool rdpshot_available(void)
{
	return false;
}

int rdpshot_run(const struct shot_config *cfg, struct shot_result *res)
{
	(void)cfg;
	(void)res;
	fprintf(stderr, "hyperdesk shot: this build has no RDP client (FreeRDP 2's client "
			"libraries were missing)\n");
	return -1;
}
