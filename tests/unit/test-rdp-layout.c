/* test-rdp-layout.c: cmocka tests for an RDP client's layout (display-broker/rdp-layout.c):
 * monitors from the connection settings or a Display Control PDU, primary first, moved to a
 * 0,0 top-left, unusable ones dropped, and the scale as millimetres. Built only with FreeRDP.
 * Not the channel or the policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <freerdp/channels/disp.h>
#include <freerdp/settings.h>

#include "rdp-internal.h"

static void check_mon(const struct rdp_monitor_shape *m, uint32_t x, uint32_t y, uint32_t w,
		      uint32_t h, uint32_t wmm, uint32_t hmm)
{
	assert_int_equal(m->x, x);
	assert_int_equal(m->y, y);
	assert_int_equal(m->width, w);
	assert_int_equal(m->height, h);
	assert_int_equal(m->width_mm, wmm);
	assert_int_equal(m->height_mm, hmm);
}

static void test_scale_mm(void **state)
{
	(void)state;
	uint32_t wmm, hmm;
	rdp_scale_mm(1280, 720, 140, &wmm, &hmm); /* 1280 * 25.4 / 134.4 = 241.9 */
	assert_int_equal(wmm, 242);
	assert_int_equal(hmm, 136);
	rdp_scale_mm(1920, 1080, 100, &wmm, &hmm); /* 96 dpi */
	assert_int_equal(wmm, 508);
	assert_int_equal(hmm, 286);
	rdp_scale_mm(1920, 1080, 0, &wmm, &hmm); /* none given: the broker's --dpi */
	assert_int_equal(wmm, 0);
	assert_int_equal(hmm, 0);
	rdp_scale_mm(1920, 1080, 501, &wmm, &hmm); /* beyond [MS-RDPBCGR]'s 100..500 */
	assert_int_equal(wmm, 0);
	uint32_t a, b;
	broker_size_mm(1920, 1080, 9600, &a, &b); /* the --dpi path rounds the same way */
	assert_int_equal(a, 508);
	assert_int_equal(b, 286);
}

static void test_settings_one_monitor(void **state)
{
	(void)state;
	rdpSettings *st = freerdp_settings_new(0);
	assert_non_null(st);
	st->DesktopWidth = 1100;
	st->DesktopHeight = 650;
	st->DesktopScaleFactor = 0;
	st->DeviceScaleFactor = 140; /* only the device scale: it applies */
	struct rdp_layout lay;
	assert_true(rdp_layout_from_settings(st, &lay));
	assert_int_equal(lay.nr, 1);
	assert_int_equal(lay.width, 1100);
	assert_int_equal(lay.height, 650);
	check_mon(&lay.mon[0], 0, 0, 1100, 650, 208, 123);
	st->DesktopWidth = 8;
	assert_false(rdp_layout_from_settings(st, &lay)); /* below BROKER_MIN_SHAPE */
	freerdp_settings_free(st);
}

static void test_settings_monitor_left_of_primary(void **state)
{
	(void)state;
	rdpSettings *st = freerdp_settings_new(0);
	assert_non_null(st);
	rdpMonitor mons[3] = {
		{.x = 0, .y = 0, .width = 1280, .height = 720, .is_primary = 1},
		{.x = -1024, .y = 0, .width = 1024, .height = 600},
		{.x = 1280, .y = 0, .width = 0, .height = 600}, /* empty: dropped */
	};
	rdpMonitor *saved = st->MonitorDefArray;
	st->MonitorDefArray = mons;
	st->MonitorCount = 3;
	st->DesktopWidth = 2304;
	st->DesktopHeight = 720;
	st->DesktopScaleFactor = 100;
	struct rdp_layout lay;
	assert_true(rdp_layout_from_settings(st, &lay));
	assert_int_equal(lay.nr, 2);
	assert_int_equal(lay.width, 2304);
	assert_int_equal(lay.height, 720);
	check_mon(&lay.mon[0], 1024, 0, 1280, 720, 339, 191); /* the primary first, moved right */
	check_mon(&lay.mon[1], 0, 0, 1024, 600, 271, 159);
	st->MonitorDefArray = saved;
	freerdp_settings_free(st);
}

static void test_pdu(void **state)
{
	(void)state;
	DISPLAY_CONTROL_MONITOR_LAYOUT m[2] = {
		{.Left = 0, .Top = -600, .Width = 1024, .Height = 600, .DesktopScaleFactor = 180},
		{.Flags = DISPLAY_CONTROL_MONITOR_PRIMARY,
		 .Left = 0,
		 .Top = 0,
		 .Width = 1920,
		 .Height = 1080,
		 .DesktopScaleFactor = 140},
	};
	DISPLAY_CONTROL_MONITOR_LAYOUT_PDU pdu = {.NumMonitors = 2, .Monitors = m};
	struct rdp_layout lay;
	assert_true(rdp_layout_from_pdu(&pdu, &lay));
	assert_int_equal(lay.nr, 2);
	assert_int_equal(lay.width, 1920);
	assert_int_equal(lay.height, 1680);
	/* The primary's scale (140 %) applies to every monitor. */
	check_mon(&lay.mon[0], 0, 600, 1920, 1080, 363, 204);
	check_mon(&lay.mon[1], 0, 0, 1024, 600, 194, 113);

	/* Too large a desktop, or nothing usable: refused. */
	m[0].Top = -8000;
	assert_false(rdp_layout_from_pdu(&pdu, &lay));
	m[0].Top = 0;
	m[0].Width = m[1].Width = 9000;
	assert_false(rdp_layout_from_pdu(&pdu, &lay));
	pdu.NumMonitors = 0;
	assert_false(rdp_layout_from_pdu(&pdu, &lay));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale_mm),
		cmocka_unit_test(test_settings_one_monitor),
		cmocka_unit_test(test_settings_monitor_left_of_primary),
		cmocka_unit_test(test_pdu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
