/* desktop.h: what the demo desktop's event loop (desktop.c) and its painter (scene.c) share:
 * the per-head desk with its layout, and the state every head shows. Not a widget toolkit. */
#ifndef DEMO_DESKTOP_H
#define DEMO_DESKTOP_H

#include "cmdline.h"
#include "paint.h"
#include "ulib.h"

#define INFO_ROWS 10

#define DESK_CMD_MAX   63
#define DESK_CMD_LINES 4

/* What the desktop shows; the same for every head. */
struct desk_state {
	struct demo_display_info disp;
	struct demo_mem_stats mem;
	unsigned workload;   /* enum demo_workload */
	int hw_cursor;	     /* the pointer is the device's cursor, not painted */
	uint64_t wall_ns;    /* the time shown */
	uint64_t uptime_ns;  /* since the vCPUs started */
	uint32_t frames;     /* frames flushed on head 0 */
	uint32_t fps_x10;    /* over the last second */
	uint32_t flush_us;   /* mean time of one flush call over the last second */
	uint32_t typed;	     /* typing: characters of the text shown so far */
	uint32_t scroll_px;  /* scroll: how far the log has moved */
	uint32_t phase;	     /* video: animation time */
	const char *log[8];  /* recent console lines, shown by the terminal when static */
	int nlog;
	uint32_t vcpus, ram_mib;
	int still; /* still=1: the clock shows DESK_STILL_WALL_NS; frame, rate, uptime, IRQs hidden */
	/* The terminal's line editor (keyboard input, static workload): the line being typed
	 * and the lines entered before it, oldest first. */
	char cmd[DESK_CMD_MAX + 1];
	int cmd_len;
	char cmd_done[DESK_CMD_LINES][DESK_CMD_MAX + 1];
	int ncmd;
};

/* The time still=1 shows: Thu 1 Jan 2026 12:00:00 UTC. */
#define DESK_STILL_WALL_NS (1767268800ull * 1000000000ull)

/* One head: its surface and where things are on it. */
struct desk {
	int head;
	int active;
	struct demo_surface_info surf;
	struct canvas cv;
	int scale; /* 2 on high-DPI heads: the 16x32 fonts and doubled metrics */
	int dpi;   /* from EDID, 96 assumed when unknown */
	int bpc;   /* from EDID: 6 = a 16-bit viewer, drawn in RGB 5-6-5; else full colour */
	const struct font *font, *bold, *big;
	int line_h;
	int compact; /* small mode: tighter info rows */
	/* layout (scene_layout) */
	struct rect panel, clock, date;
	struct rect info, info_body, rows[INFO_ROWS];
	struct rect term, term_body;
	struct rect memw; /* the memory-object window, where there is room */
	int term_cols, term_rows;
	struct rect card; /* heads other than 0: the head's own card */
	struct rect dock;
	int ptr_x, ptr_y;
	struct rect ptr;
	int click_on;	   /* the tablet's left button is down: a ripple under the pointer */
	struct rect click; /* where the ripple is */
};

/* Places everything for the desk's size and DPI. */
void scene_layout(struct desk *d, const struct desk_state *st);
/* Repaints everything that intersects clip, back to front. */
void scene_paint(struct desk *d, const struct desk_state *st, struct rect clip);
/* Typing: the terminal cell of character n of the typed text (and the one after it, where
 * the caret goes), as one rectangle. Empty when it does not fit. */
struct rect scene_typing_rect(const struct desk *d, uint32_t n);
/* Whether typed characters up to n have filled the terminal (time to start over). */
int scene_typing_full(const struct desk *d, uint32_t n);
/* Scroll: one line's height in the terminal. */
int scene_line_h(const struct desk *d);
/* Precomputes the video workload's tables; cheap, idempotent. */
void scene_video_init(void);
/* The click ripple around the pointer's tip at (x, y). */
struct rect scene_click_rect(const struct desk *d, int x, int y);
/* Video: moves the pointer along its path for st->phase. */
void scene_animate(struct desk *d, const struct desk_state *st);

/* Runs the desktop until frames=N is reached (or forever); without a GPU prints "gpu: none"
 * and idles. */
__attribute__((noreturn)) void desktop_run(const struct demo_opts *o,
					   const struct demo_bootinfo *bi);
/* gfxtest=1: checks the graphics system calls, prints "gfxtest: N passed, M failed" and
 * exits 0 when all passed (gfxtest.c). */
__attribute__((noreturn)) void gfx_selftest(const struct demo_opts *o);

#endif
