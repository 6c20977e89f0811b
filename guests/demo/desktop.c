/* desktop.c: the demo desktop's event loop: a surface per enabled head, following the host's
 * display changes, and the workloads. Not the painter (scene.c), and never privileged. */
#include "desktop.h"

#define TYPING_MS 150 /* a keystroke every 150 ms: a few small updates a second */
#define SCROLL_MS 16  /* smooth scrolling at up to 60 frames a second */

static struct desk desks[DEMO_MAX_HEADS];
static struct desk_state st;
static const struct demo_opts *opts;
static uint64_t tsc_per_ms, tsc_origin;
static char log_store[8][72];
static uint32_t cursor_img[64 * 64] __attribute__((aligned(8)));
static int first_frame_done, flush_err_reported;
/* For the rate shown: frames and flush time over the last second. */
static uint32_t sec_frames, sec_flushes;
static uint64_t sec_flush_tsc, sec_start;

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Monotonic ns since the vCPUs started, from the TSC directly: CPL3 may read it, and a system
 * call per frame would cost more than the frame on the slow host. */
static uint64_t mono_ns(void)
{
	uint64_t t = rdtsc() - tsc_origin;

	return t / tsc_per_ms * 1000000 + t % tsc_per_ms * 1000000 / tsc_per_ms;
}

/* A line for the terminal window (newest last); console says whether it is printed now. */
static void log_line(const char *line, int console)
{
	if (console)
		uprintf("%s\n", line);
	if (st.nlog == 8) {
		for (int i = 1; i < 8; i++)
			memcpy(log_store[i - 1], log_store[i], sizeof(log_store[0]));
		st.nlog = 7;
	}
	usnprintf(log_store[st.nlog], sizeof(log_store[0]), "%s", line);
	st.log[st.nlog] = log_store[st.nlog];
	st.nlog++;
	for (int i = 0; i < st.nlog; i++)
		st.log[i] = log_store[i];
}

static void refresh_stats(void)
{
	sys_mem_stats(&st.mem);
	st.wall_ns = st.still ? DESK_STILL_WALL_NS : sys_time_ns(DEMO_CLOCK_WALL);
	st.uptime_ns = st.still ? 0 : mono_ns();
}

static struct rect full_rect(const struct desk *d)
{
	return rect_make(0, 0, d->cv.w, d->cv.h);
}

/* Flushes r of desk d; counts frames on head 0 (the caller ends a frame, see end_frame). */
static void flush(struct desk *d, struct rect r)
{
	uint64_t t0 = rdtsc();
	long e;

	r = rect_intersect(r, full_rect(d));
	if (rect_empty(r))
		return;
	/* Drawn for the viewer's depth: what a 16-bit client shows is exactly what the guest
	 * drew, dithered here rather than banded by the conversion on the way. */
	if (d->bpc == 6)
		paint_reduce565(&d->cv, r);
	e = sys_surface_flush(d->surf.handle, (uint32_t)r.x, (uint32_t)r.y, (uint32_t)r.w,
			      (uint32_t)r.h);
	sec_flush_tsc += rdtsc() - t0;
	sec_flushes++;
	if (e < 0 && !flush_err_reported) {
		uprintf("error: flush of head %d failed: %ld\n", d->head, e);
		flush_err_reported = 1;
	}
}

static void paint_flush(struct desk *d, struct rect r)
{
	scene_paint(d, &st, r);
	flush(d, r);
}

/* One frame on head 0 is complete: count it, report the first, honour frames=N. */
static void end_frame(void)
{
	if (!desks[0].active)
		return;
	st.frames++;
	sec_frames++;
	if (!first_frame_done) {
		first_frame_done = 1;
		uprintf("desktop: first frame after %llu ms\n",
			(unsigned long long)(mono_ns() / 1000000));
	}
	if (opts->frames && st.frames >= opts->frames) {
		uprintf("frames: %u\n", st.frames);
		uexit(0);
	}
}

static void setup_cursor(struct desk *d)
{
	long e;

	if (!st.hw_cursor)
		return;
	pointer_image(cursor_img, d->scale);
	e = sys_cursor_set(cursor_img, 0, 0, (uint32_t)d->head);
	if (e == 0)
		e = sys_cursor_move((uint32_t)d->head, (uint32_t)d->ptr_x, (uint32_t)d->ptr_y);
	if (e < 0)
		uprintf("warning: head %d: hardware cursor failed: %ld\n", d->head, e);
}

/*
 * A new mode for head h: a new surface at the new size, laid out and painted whole, shown,
 * flushed, and only then the old surface freed, so the head never shows a half-drawn frame
 * and a failed allocation leaves the old picture up.
 */
static void head_switch(int h)
{
	const struct demo_head *hd = &st.disp.heads[h];
	struct desk *d = &desks[h], prev = desks[h];
	struct demo_surface_info si;
	uint32_t old = d->active ? d->surf.handle : 0;
	long handle = sys_surface_create(hd->width, hd->height, &si);
	char line[64];

	if (handle < 0) {
		uprintf("error: head %d: no %ux%u surface: %ld\n", h, hd->width, hd->height, handle);
		return;
	}
	d->head = h;
	d->surf = si;
	d->cv.px = (uint32_t *)(uintptr_t)si.addr;
	d->cv.w = (int)si.width;
	d->cv.h = (int)si.height;
	d->cv.stride = (int)(si.stride / 4);
	/* The terminal shows the line as part of the new picture; the console gets it once
	 * the picture is up. */
	usnprintf(line, sizeof(line), "display: head %d %ux%u", h, si.width, si.height);
	log_line(line, 0);
	refresh_stats();
	scene_layout(d, &st);
	scene_paint(d, &st, full_rect(d));
	handle = sys_surface_set_scanout(si.handle, (uint32_t)h);
	if (handle < 0) {
		uprintf("error: head %d: scanout failed: %ld\n", h, handle);
		sys_surface_destroy(si.handle);
		*d = prev; /* the old surface is still shown and mapped */
		return;
	}
	d->active = 1;
	flush(d, full_rect(d));
	if (h == 0)
		end_frame();
	setup_cursor(d);
	if (old) {
		sys_surface_destroy(old);
		/* The memory figures changed with the free: show them as they are now. */
		if (h == 0) {
			sys_mem_stats(&st.mem);
			if (!rect_empty(d->info))
				paint_flush(d, d->info_body);
			if (!rect_empty(d->memw))
				paint_flush(d, d->memw);
		}
	}
	uprintf("%s\n", line);
}

static void head_off(int h)
{
	struct desk *d = &desks[h];
	char line[32];

	sys_surface_set_scanout(0, (uint32_t)h);
	sys_surface_destroy(d->surf.handle);
	d->active = 0;
	usnprintf(line, sizeof(line), "display: head %d off", h);
	log_line(line, 1);
}

/* After a display-change event: each head gets what the host now asks for. Head 0 first,
 * since that is the line tests wait for. Heads whose mode stayed are repainted whole (the
 * head count or DPI they show may have changed). */
static void apply_displays(void)
{
	uint32_t n = st.disp.num_heads < DEMO_MAX_HEADS ? st.disp.num_heads : DEMO_MAX_HEADS;

	for (uint32_t h = 0; h < n; h++) {
		const struct demo_head *hd = &st.disp.heads[h];
		struct desk *d = &desks[h];

		if (hd->enabled) {
			if (!d->active || d->surf.width != hd->width || d->surf.height != hd->height) {
				head_switch((int)h);
			} else {
				refresh_stats();
				scene_layout(d, &st);
				paint_flush(d, full_rect(d));
				if (h == 0)
					end_frame();
			}
		} else if (d->active) {
			head_off((int)h);
		}
	}
}

/* Once a second: the clock everywhere; outside static, the live figures too. */
static void second_tick(void)
{
	uint64_t now = mono_ns();

	if (now > sec_start) {
		st.fps_x10 = (uint32_t)((uint64_t)sec_frames * 10000000000ull / (now - sec_start));
		st.flush_us = sec_flushes
				  ? (uint32_t)(sec_flush_tsc * 1000 / tsc_per_ms / sec_flushes)
				  : 0;
	}
	sec_start = now;
	sec_frames = sec_flushes = 0;
	sec_flush_tsc = 0;
	refresh_stats();
	if (st.workload == WORKLOAD_VIDEO)
		return; /* every frame repaints everything anyway */
	for (int h = DEMO_MAX_HEADS - 1; h >= 0; h--) {
		struct desk *d = &desks[h];

		if (!d->active)
			continue;
		paint_flush(d, d->clock);
		if (!rect_empty(d->card))
			paint_flush(d, d->card);
		if (h == 0 && st.workload != WORKLOAD_STATIC && !rect_empty(d->info))
			paint_flush(d, d->info_body);
		if (h == 0 && st.workload != WORKLOAD_STATIC && !rect_empty(d->memw))
			paint_flush(d, d->memw);
		if (h == 0)
			end_frame();
	}
}

/* ------------------------------ input ------------------------------ */

/* evdev codes (linux/input-event-codes.h) the desktop understands. */
#define EV_SYN	       0
#define EV_KEY	       1
#define EV_ABS	       3
#define KEY_BACKSPACE  14
#define KEY_ENTER      28
#define KEY_LEFTSHIFT  42
#define KEY_RIGHTSHIFT 54
#define KEY_SPACE      57
#define KEY_KPENTER    96
#define BTN_LEFT       0x110

static int have_input, shift_held;
static int abs_x = -1, abs_y = -1; /* the tablet's position, 0..DEMO_INPUT_ABS_MAX */

/* US layout, key codes 2..53 unshifted and shifted; ' ' where a code types nothing. */
static const char keys_plain[] = "1234567890-=  qwertyuiop[]  asdfghjkl;'` \\zxcvbnm,./";
static const char keys_shift[] = "!@#$%^&*()_+  QWERTYUIOP{}  ASDFGHJKL:\"~ |ZXCVBNM<>?";

static char key_char(unsigned code)
{
	if (code == KEY_SPACE)
		return ' ';
	if (code < 2 || code - 2 >= sizeof(keys_plain) - 1)
		return 0;
	char c = (shift_held ? keys_shift : keys_plain)[code - 2];
	return c == ' ' ? 0 : c;
}

/* A key press for the terminal's line editor; returns whether the terminal changed. */
static int edit_key(const struct desk *d, unsigned code)
{
	int room = d->term_cols - 19; /* the prompt is 18 columns, the caret one */
	char c;

	if (room > DESK_CMD_MAX)
		room = DESK_CMD_MAX;
	if (code == KEY_BACKSPACE) {
		if (!st.cmd_len)
			return 0;
		st.cmd[--st.cmd_len] = '\0';
		return 1;
	}
	if (code == KEY_ENTER || code == KEY_KPENTER) {
		if (st.ncmd == DESK_CMD_LINES) {
			for (int i = 1; i < DESK_CMD_LINES; i++)
				memcpy(st.cmd_done[i - 1], st.cmd_done[i], sizeof(st.cmd_done[0]));
			st.ncmd--;
		}
		memcpy(st.cmd_done[st.ncmd++], st.cmd, sizeof(st.cmd));
		st.cmd_len = 0;
		st.cmd[0] = '\0';
		return 1;
	}
	c = key_char(code);
	if (!c || st.cmd_len >= room)
		return 0;
	st.cmd[st.cmd_len++] = c;
	st.cmd[st.cmd_len] = '\0';
	return 1;
}

/* Moves the pointer (and the ripple with it) to the tablet's position on head 0. */
static void pointer_update(struct desk *d, int click_on)
{
	struct rect before = rect_union(d->ptr, d->click_on ? d->click : rect_make(0, 0, 0, 0));

	if (abs_x >= 0)
		d->ptr_x = (int)(((int64_t)abs_x * (d->cv.w - 1) + DEMO_INPUT_ABS_MAX / 2) /
				 DEMO_INPUT_ABS_MAX);
	if (abs_y >= 0)
		d->ptr_y = (int)(((int64_t)abs_y * (d->cv.h - 1) + DEMO_INPUT_ABS_MAX / 2) /
				 DEMO_INPUT_ABS_MAX);
	d->ptr = pointer_rect(d->ptr_x, d->ptr_y, d->scale);
	d->click_on = click_on;
	d->click = scene_click_rect(d, d->ptr_x, d->ptr_y);
	if (st.hw_cursor)
		sys_cursor_move(0, (uint32_t)d->ptr_x, (uint32_t)d->ptr_y);
	paint_flush(d, rect_union(before, rect_union(d->ptr, d->click_on ? d->click
									: rect_make(0, 0, 0, 0))));
}

/* Reads what the keyboard and tablet sent and shows it on head 0: the pointer follows the
 * tablet, the left button shows a ripple, keys edit the terminal's last line. */
static void input_poll(void)
{
	static struct demo_input_event ev[64] __attribute__((aligned(8)));
	struct desk *d = &desks[0];
	int term_dirty = 0, moved = 0, click = d->click_on;
	long n;

	if (!have_input)
		return;
	do {
		n = sys_input_read(ev, 64, 0);
		for (long i = 0; i < n; i++) {
			unsigned code = ev[i].code;

			if (ev[i].type == EV_ABS && code < 2) {
				*(code ? &abs_y : &abs_x) = ev[i].value;
				moved = 1;
			} else if (ev[i].type == EV_KEY && code == BTN_LEFT) {
				click = ev[i].value != 0;
				moved = 1;
			} else if (ev[i].type == EV_KEY && (code == KEY_LEFTSHIFT ||
							    code == KEY_RIGHTSHIFT)) {
				shift_held = ev[i].value != 0;
			} else if (ev[i].type == EV_KEY && ev[i].value && code < 256 && d->active &&
				   st.workload == WORKLOAD_STATIC) {
				term_dirty |= edit_key(d, code);
			} else if (ev[i].type == EV_SYN && moved && d->active) {
				pointer_update(d, click);
				moved = 0;
			}
		}
	} while (n == 64);
	if (moved && d->active)
		pointer_update(d, click);
	if (term_dirty && !rect_empty(d->term))
		paint_flush(d, d->term_body);
	if ((moved || term_dirty) && d->active)
		end_frame();
}

/* One step of the workload on head 0; returns the ms until the next. */
static uint32_t work_step(void)
{
	struct desk *d = &desks[0];

	if (!d->active)
		return 100;
	switch (st.workload) {
	case WORKLOAD_TYPING:
		if (scene_typing_full(d, st.typed + 1)) {
			st.typed = 0;
			paint_flush(d, d->term_body);
		} else {
			st.typed++;
			paint_flush(d, scene_typing_rect(d, st.typed));
		}
		end_frame();
		return TYPING_MS;
	case WORKLOAD_SCROLL:
		st.scroll_px += (uint32_t)d->scale * 2;
		paint_flush(d, d->term_body);
		end_frame();
		return SCROLL_MS;
	case WORKLOAD_VIDEO:
		st.phase += 2;
		st.uptime_ns = mono_ns();
		scene_animate(d, &st);
		if (st.hw_cursor)
			sys_cursor_move(0, (uint32_t)d->ptr_x, (uint32_t)d->ptr_y);
		paint_flush(d, full_rect(d));
		end_frame();
		return 0;
	default:
		return 1000;
	}
}

void desktop_run(const struct demo_opts *o, const struct demo_bootinfo *bi)
{
	long heads;
	char line[64];
	uint64_t next_sec, next_work;
	long r0;

	opts = o;
	st.vcpus = bi->hv.vcpu_count;
	st.ram_mib = (uint32_t)(bi->hv.mem_size >> 20);
	tsc_per_ms = bi->hv.tsc_khz ? bi->hv.tsc_khz : 3000000;
	tsc_origin = bi->hv.wallclock_tsc;
	st.workload = o->workload;
	st.hw_cursor = o->hw_cursor;
	st.still = o->still;

	heads = sys_gpu_open(o->no_blob ? DEMO_GPU_NO_BLOB : 0);
	if (heads < 0) {
		uprintf("gpu: none\n");
		if (o->frames) {
			uprintf("error: frames=%u needs a GPU\n", o->frames);
			uexit(1);
		}
		uprintf("idle\n");
		uidle();
	}
	usnprintf(line, sizeof(line), "gpu: virtio-gpu, %ld heads", heads);
	log_line(line, 1);
	sys_display_info(&st.disp);
	usnprintf(line, sizeof(line), "gpu: %s resources, %s",
		  st.disp.flags & DEMO_GPU_BLOB ? "blob" : "2D",
		  st.disp.flags & DEMO_GPU_EDID ? "EDID" : "no EDID");
	log_line(line, 1);
	if (st.workload == WORKLOAD_VIDEO)
		scene_video_init();
	r0 = sys_input_open();
	if (r0 > 0) {
		have_input = 1;
		uprintf("input: %s%s%s\n", r0 & DEMO_INPUT_KEYBOARD ? "keyboard" : "",
			r0 == (DEMO_INPUT_KEYBOARD | DEMO_INPUT_TABLET) ? ", " : "",
			r0 & DEMO_INPUT_TABLET ? "tablet" : "");
	}

	refresh_stats();
	sec_start = mono_ns();
	apply_displays();

	next_sec = mono_ns() + (1000000000ull - st.wall_ns % 1000000000ull);
	next_work = mono_ns();
	for (;;) {
		uint64_t now = mono_ns(), due = next_sec;
		uint64_t timeout;
		long r;

		if (st.workload != WORKLOAD_STATIC && next_work < due)
			due = next_work;
		timeout = due > now ? (due - now + 999999) / 1000000 : 0;
		r = sys_display_wait(timeout, &st.disp);
		if (r > 0)
			apply_displays();
		else if (r < 0) {
			uprintf("error: display wait failed: %ld\n", r);
			sys_sleep(1000);
		}
		input_poll();
		now = mono_ns();
		if (st.workload != WORKLOAD_STATIC && now >= next_work) {
			uint32_t ms = work_step();

			next_work += (uint64_t)ms * 1000000;
			if (next_work < now)
				next_work = now + (uint64_t)ms * 1000000;
		}
		if (now >= next_sec) {
			second_tick();
			next_sec = mono_ns() + (1000000000ull - st.wall_ns % 1000000000ull);
		}
	}
}
