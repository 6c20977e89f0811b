/* scene.c: what the demo desktop looks like: layout for any mode and DPI, and painting clipped
 * to a damage rectangle. Not the event loop (desktop.c); all plain CPL3 drawing. */
#include "desktop.h"

/* Palette. */
#define C_PANEL	     0x0b0e14
#define C_TEXT	     0xe8ecf4
#define C_DIM	     0x8b93a7
#define C_ACCENT     0x7aa2f7
#define C_GREEN	     0x9ece6a
#define C_TITLE	     0x262a36
#define C_BODY	     0x1b1e27
#define C_TERM	     0x11131a
#define C_BORDER     0x3b4052

static const char *const workload_names[] = {"static", "typing", "scroll", "video"};

static const char typing_text[] =
    "hyperdesk runs this desktop in a tiny guest kernel. Every pixel is drawn at CPL3 into "
    "guest memory that the virtio-gpu device reads directly (a blob resource), and only the "
    "rectangle that changed is flushed: this line grows one character at a time, each one "
    "its own flush of a few hundred bytes. The host turns those rectangles into updates for "
    "VNC and RDP clients. Change the mode from the host and the desktop follows: a new "
    "surface at the new size, laid out again, scanned out, and the old one freed. ";

/* ------------------------------ helpers ------------------------------ */

static int sc(const struct desk *d, int v)
{
	return v * d->scale;
}

/* "12.3" from bytes, in MiB. */
static void fmt_mib(char *buf, size_t cap, uint64_t bytes)
{
	uint64_t tenths = (bytes * 10 + (1 << 19)) >> 20;

	usnprintf(buf, cap, "%llu.%llu MiB", (unsigned long long)(tenths / 10),
		  (unsigned long long)(tenths % 10));
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(uint64_t days, unsigned *y, unsigned *m, unsigned *dd)
{
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	*dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

static void fmt_clock(const struct desk_state *st, char *clock, size_t cc, char *date, size_t dc)
{
	static const char *const wd[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	uint64_t s = st->wall_ns / 1000000000ull, days = s / 86400;
	unsigned y, m, dd;

	civil(days, &y, &m, &dd);
	usnprintf(clock, cc, "%02u:%02u:%02u", (unsigned)(s / 3600 % 24), (unsigned)(s / 60 % 60),
		  (unsigned)(s % 60));
	usnprintf(date, dc, "%s %u %s %u", wd[days % 7], dd, mo[m - 1], y);
}

/* ------------------------------ layout ------------------------------ */

void scene_layout(struct desk *d, const struct desk_state *st)
{
	int W = d->cv.w, H = d->cv.h, margin, ph, gap, dock_h, dock_w, term_x, bottom;
	const struct demo_head *h = &st->disp.heads[d->head];

	d->dpi = h->mm_width ? (int)((h->width * 254u + h->mm_width * 5) / (h->mm_width * 10)) : 96;
	d->bpc = h->bpc == 6 ? 6 : 8;
	/* Double everything on dense screens that are big enough to hold it. */
	d->scale = d->dpi >= 160 && W >= 1600 && H >= 1000 ? 2 : 1;
	d->font = d->scale == 2 ? &font_large : &font_regular;
	d->bold = d->scale == 2 ? &font_large_bold : &font_bold;
	d->big = &font_large_bold;
	d->line_h = d->font->height + sc(d, 3);

	ph = sc(d, 30);
	margin = sc(d, W < 1000 ? 20 : 40);
	gap = sc(d, W < 1000 ? 14 : 28);
	d->panel = rect_make(0, 0, W, ph);

	/* Clock group, right-aligned: date, time, "UTC". */
	{
		int cw = text_width(d->bold, "00:00:00"), dw = text_width(d->font, "Wed 30 Sep 2000");
		int uw = text_width(d->font, "UTC"), x = W - sc(d, 14) - uw - sc(d, 8) - cw;

		d->clock = rect_make(x, 0, cw + sc(d, 8) + uw, ph);
		/* The date only where it leaves the name in the panel readable. */
		d->date = rect_make(x - sc(d, 18) - dw, 0, dw, ph);
		if (d->date.x < sc(d, 140))
			d->date = rect_make(d->clock.x, 0, 0, 0);
		d->clock = rect_union(d->clock, d->date);
	}

	/* Small modes: tighter rows, and no dock below 560 lines, so the terminal still fits. */
	d->compact = H < 640;
	dock_h = sc(d, 60);
	dock_w = sc(d, 5 * 40 + 4 * 12 + 24);
	d->dock = rect_make((W - dock_w) / 2, H - dock_h - sc(d, 12), dock_w, dock_h);
	if (H < 560)
		d->dock = rect_make(W / 2, H, 0, 0);
	bottom = (rect_empty(d->dock) ? H : d->dock.y) - gap;

	if (d->head != 0) {
		int cw = sc(d, 420) < W - 2 * margin ? sc(d, 420) : W - 2 * margin;

		d->card = rect_make((W - cw) / 2, (H - sc(d, 160)) / 2, cw, sc(d, 160));
		d->info = d->term = d->memw = rect_make(0, 0, 0, 0);
		d->ptr_x = W / 2 + sc(d, 60);
		d->ptr_y = d->card.y + d->card.h + sc(d, 30);
		d->ptr = pointer_rect(d->ptr_x, d->ptr_y, d->scale);
		return;
	}
	d->card = d->memw = rect_make(0, 0, 0, 0);

	/* Info window, top left. */
	{
		int w = sc(d, 460) < W - 2 * margin ? sc(d, 460) : W - 2 * margin;
		int title = sc(d, 34), pad = sc(d, d->compact ? 6 : 12);
		int row = d->font->height + sc(d, d->compact ? 4 : 8);

		d->info = rect_make(margin, ph + gap, w, title + 2 * pad + INFO_ROWS * row);
		d->info_body = rect_make(d->info.x, d->info.y + title, w, d->info.h - title);
		for (int i = 0; i < INFO_ROWS; i++)
			d->rows[i] = rect_make(d->info.x + sc(d, 16), d->info_body.y + pad + i * row,
					       w - sc(d, 32), row);
	}

	/* Terminal: beside the info window where there is room, else below it, else none; no
	 * bigger than a terminal people use, so large modes show more wallpaper, not a void. */
	term_x = d->info.x + d->info.w + gap;
	if (W - margin - term_x >= sc(d, 320)) {
		d->term = rect_make(term_x, d->info.y, W - margin - term_x, bottom - d->info.y);
		if (d->term.w > sc(d, 780))
			d->term.w = sc(d, 780);
		if (d->term.h > sc(d, 470))
			d->term.h = sc(d, 470);
	} else {
		d->term = rect_make(margin, d->info.y + d->info.h + gap, W - 2 * margin,
				    bottom - (d->info.y + d->info.h + gap));
	}
	if (d->term.h < sc(d, 110) || d->term.w < sc(d, 200))
		d->term = rect_make(0, 0, 0, 0);

	/* Memory window under the info window, where the terminal left room for it. */
	d->memw = rect_make(d->info.x, d->info.y + d->info.h + gap, d->info.w, sc(d, 150));
	if (d->memw.y + d->memw.h > bottom || rect_overlaps(d->memw, rect_inset(d->term, -gap)))
		d->memw = rect_make(0, 0, 0, 0);
	if (!rect_empty(d->term)) {
		d->term_body = rect_inset(rect_make(d->term.x, d->term.y + sc(d, 34), d->term.w,
						    d->term.h - sc(d, 34)),
					  sc(d, 12));
		d->term_cols = d->term_body.w / d->font->width;
		d->term_rows = d->term_body.h / d->line_h;
	} else {
		d->term_body = d->term;
		d->term_cols = d->term_rows = 0;
	}

	/* The pointer rests over the terminal's title bar, or mid-screen. */
	if (!rect_empty(d->term)) {
		d->ptr_x = d->term.x + d->term.w * 2 / 3;
		d->ptr_y = d->term.y + sc(d, 20);
	} else {
		d->ptr_x = d->info.x + d->info.w + sc(d, 40) < W - sc(d, 20)
				   ? d->info.x + d->info.w + sc(d, 40)
				   : W - sc(d, 20);
		d->ptr_y = H / 2;
	}
	d->ptr = pointer_rect(d->ptr_x, d->ptr_y, d->scale);
}

/* ------------------------------ wallpaper ------------------------------ */

/* A deep blue vertical gradient with two large soft glows, computed per pixel so any clip
 * repaints exactly. Each glow's strength is a product of a column and a row falloff, so a
 * pixel costs two table reads, two multiplies and two blends, and pixel pairs share one
 * colour (x rounded down to even: invisible in a gradient this smooth). Cheap natively, and
 * bearable where the whole guest is emulated. */
static uint8_t glow_col[2][16384];

/* (1 - (d/r)^2)^2 scaled to 0..255, 0 outside. */
static unsigned falloff(int d, int r)
{
	int64_t q = (int64_t)d * d, rr = (int64_t)r * r;
	unsigned f;

	if (q >= rr)
		return 0;
	f = (unsigned)(255 - q * 255 / rr);
	return f * f / 255;
}

static void paint_wallpaper(struct desk *d, struct rect clip)
{
	struct canvas *c = &d->cv;
	int W = c->w, H = c->h, x1 = clip.x + clip.w < 16384 ? clip.x + clip.w : 16384;
	int g1x = W * 4 / 5, g1y = H / 5, g2x = W / 10, g2y = H * 19 / 20;
	int r1 = W * 6 / 10 + 1, r2 = W / 2 + 1;

	for (int x = clip.x & ~1; x < x1; x += 2) {
		glow_col[0][x] = (uint8_t)falloff(x - g1x, r1);
		glow_col[1][x] = (uint8_t)falloff(x - g2x, r2);
	}
	for (int y = clip.y; y < clip.y + clip.h; y++) {
		uint32_t *p = c->px + (long)y * c->stride;
		unsigned t = (unsigned)(y * 255 / (H > 1 ? H - 1 : 1));
		uint32_t base = color_mix(0x2a4365, 0x111827, t);
		unsigned w1 = falloff(y - g1y, r1) * 90, w2 = falloff(y - g2y, r2) * 70;

		for (int x = clip.x & ~1; x < x1; x += 2) {
			uint32_t col = base;
			unsigned a1 = (glow_col[0][x] * w1) >> 16, a2 = (glow_col[1][x] * w2) >> 16;

			if (a1)
				col = color_mix(0x4f8dfd, col, a1);
			if (a2)
				col = color_mix(0xa855f7, col, a2);
			if (x >= clip.x)
				p[x] = col;
			if (x + 1 < x1)
				p[x + 1] = col;
		}
	}
}

/* Video: full-screen plasma from three sine sums, moving with st->phase. */
static int8_t sine[256];
static uint32_t plasma_pal[256];

void scene_video_init(void)
{
	/* sin by rotation of a unit vector (no libm); the palette cycles blue, violet, teal. */
	float cs = 0.99969882f, sn = 0.02454123f, x = 1, y = 0;
	static const uint32_t keys[4] = {0x0b1d51, 0x7b2ff7, 0x00c2cb, 0x0b1d51};

	if (plasma_pal[255])
		return;
	for (int i = 0; i < 256; i++) {
		float nx = x * cs - y * sn;

		sine[i] = (int8_t)(y * 127.0f);
		y = x * sn + y * cs;
		x = nx;
	}
	for (int i = 0; i < 256; i++) {
		int k = i * 3 / 256, f = (i * 3 % 256);

		plasma_pal[i] = color_mix(keys[k + 1], keys[k], (unsigned)f);
	}
}

static void paint_plasma(struct desk *d, const struct desk_state *st, struct rect clip)
{
	struct canvas *c = &d->cv;
	unsigned t = st->phase;
	static uint8_t colv[16384];
	int sx = (256 * 3 << 8) / (c->w > 0 ? c->w : 1), sy = (256 * 2 << 8) / (c->h > 0 ? c->h : 1);

	for (int x = clip.x; x < clip.x + clip.w && x < 16384; x++)
		colv[x] = (uint8_t)(sine[(((x * sx) >> 8) + t) & 255] + 128);
	for (int y = clip.y; y < clip.y + clip.h; y++) {
		uint32_t *p = c->px + (long)y * c->stride;
		int ys = (y * sy) >> 8, rowv = sine[(ys + 2 * t) & 255];

		for (int x = clip.x; x < clip.x + clip.w; x++) {
			int v = colv[x] + rowv + sine[(((x * sx) >> 9) + ys - 3 * t) & 255];

			p[x] = plasma_pal[(v + (int)t) & 255];
		}
	}
}

/* ------------------------------ panel ------------------------------ */

static void paint_panel(struct desk *d, const struct desk_state *st)
{
	struct canvas *c = &d->cv;
	int ph = d->panel.h, ty = (ph - d->font->height) / 2, x;
	char clock[16], date[32], head[24];
	static const char *const menu[] = {"Activities", "Files", "Terminal", "Settings"};

	paint_blend(c, d->panel, C_PANEL, 225);
	paint_hline(c, 0, ph - 1, c->w, 0xffffff, 18);
	paint_circle(c, sc(d, 18), ph / 2, sc(d, 6), C_ACCENT, 255);
	paint_circle(c, sc(d, 18), ph / 2, sc(d, 2), C_PANEL, 255);
	x = paint_text(c, d->bold, sc(d, 32), ty, "hyperdesk", C_TEXT) + sc(d, 22);
	if (d->head == 0) {
		for (unsigned i = 0; i < 4 && x + text_width(d->font, menu[i]) < d->date.x - sc(d, 20);
		     i++)
			x = paint_text(c, d->font, x, ty, menu[i], C_DIM) + sc(d, 20);
	} else {
		usnprintf(head, sizeof(head), "head %d", d->head);
		paint_text(c, d->font, x, ty, head, C_DIM);
	}
	fmt_clock(st, clock, sizeof(clock), date, sizeof(date));
	x = d->clock.x + d->clock.w - text_width(d->font, "UTC") - sc(d, 8) -
	    text_width(d->bold, clock);
	if (!rect_empty(d->date))
		paint_text(c, d->font, x - sc(d, 18) - text_width(d->font, date), ty, date, C_DIM);
	x = paint_text(c, d->bold, x, ty, clock, C_TEXT);
	paint_text(c, d->font, x + sc(d, 8), ty, "UTC", C_DIM);
}

/* ------------------------------ windows ------------------------------ */

static void paint_window(struct desk *d, struct rect r, const char *title, uint32_t body)
{
	struct canvas *c = &d->cv;
	int rad = sc(d, 10), th = sc(d, 34), ty = r.y + (th - d->font->height) / 2;
	static const uint32_t lights[3] = {0xff5f57, 0xfebc2e, 0x28c840};

	paint_shadow(c, r, rad, sc(d, 22), sc(d, 8), 110);
	paint_round(c, rect_make(r.x, r.y, r.w, th), rad, C_TITLE, 255, 0, 1);
	paint_round(c, rect_make(r.x, r.y + th, r.w, r.h - th), rad, body, 255, 1, 0);
	paint_hline(c, r.x, r.y + th - 1, r.w, 0x000000, 80);
	for (int i = 0; i < 3; i++)
		paint_circle(c, r.x + sc(d, 18 + 20 * i), r.y + th / 2, sc(d, 6), lights[i], 255);
	paint_text(c, d->bold, r.x + (r.w - text_width(d->bold, title)) / 2, ty, title, C_TEXT);
}

static void info_row(struct desk *d, int i, const char *label, const char *value)
{
	struct rect r = d->rows[i];
	int ty = r.y + (r.h - d->font->height) / 2;

	if (i)
		paint_hline(&d->cv, r.x, r.y, r.w, 0xffffff, 12);
	paint_text(&d->cv, d->font, r.x, ty, label, C_DIM);
	paint_text(&d->cv, d->font, r.x + sc(d, 120), ty, value, C_TEXT);
}

static void paint_info(struct desk *d, const struct desk_state *st)
{
	const struct demo_head *h = &st->disp.heads[0];
	char v[96], a[24], b[24];
	uint32_t on = 0;
	uint64_t up = st->uptime_ns / 1000000000ull;

	paint_window(d, d->info, "Display", C_BODY);
	/* Full colour says nothing more, so the reference pictures hold for it. */
	usnprintf(v, sizeof(v), "%u " G_TIMES " %u on head 0%s", h->width, h->height,
		  d->bpc == 6 ? ", 16-bit colour" : "");
	info_row(d, 0, "Mode", v);
	if (h->mm_width)
		usnprintf(v, sizeof(v), "%d  (%u " G_TIMES " %u mm, EDID)%s", d->dpi, h->mm_width,
			  h->mm_height, d->scale > 1 ? ", 2x" : "");
	else
		usnprintf(v, sizeof(v), "96  (assumed: no EDID size)");
	info_row(d, 1, "DPI", v);
	for (uint32_t i = 0; i < st->disp.num_heads && i < DEMO_MAX_HEADS; i++)
		on += st->disp.heads[i].enabled;
	usnprintf(v, sizeof(v), "%u enabled of %u", on, st->disp.num_heads);
	info_row(d, 2, "Heads", v);
	fmt_mib(a, sizeof(a), d->surf.size);
	usnprintf(v, sizeof(v), "%s, %s, %u piece%s", a,
		  st->disp.flags & DEMO_GPU_BLOB ? "blob" : "2D + transfer", d->surf.pieces,
		  d->surf.pieces == 1 ? "" : "s");
	info_row(d, 3, "Surface", v);
	fmt_mib(a, sizeof(a), st->mem.used);
	usnprintf(v, sizeof(v), "%u object%s, %s in use", st->mem.objects,
		  st->mem.objects == 1 ? "" : "s", a);
	info_row(d, 4, "Memory", v);
	fmt_mib(a, sizeof(a), st->mem.free);
	fmt_mib(b, sizeof(b), st->mem.total);
	usnprintf(v, sizeof(v), "%s of %s (%u extent%s)", a, b, st->mem.free_extents,
		  st->mem.free_extents == 1 ? "" : "s");
	info_row(d, 5, "Free", v);
	/* The number of the frame being drawn: frames flushed so far, plus this one. still=1
	 * hides what depends on timing, so two runs paint the same pixels. */
	usnprintf(v, sizeof(v), "%u", st->frames + 1);
	info_row(d, 6, "Frame", st->still ? "- (still=1)" : v);
	usnprintf(v, sizeof(v), "%u.%u fps, flush %u us", st->fps_x10 / 10, st->fps_x10 % 10,
		  st->flush_us);
	info_row(d, 7, "Rate", st->still ? "- (still=1)" : v);
	info_row(d, 8, "Workload", workload_names[st->workload & 3]);
	if (st->still)
		usnprintf(v, sizeof(v), "-, %u display event%s", st->disp.generation,
			  st->disp.generation == 1 ? "" : "s");
	else
		usnprintf(v, sizeof(v), "%02u:%02u:%02u, %u display event%s, %u IRQs",
			  (unsigned)(up / 3600), (unsigned)(up / 60 % 60), (unsigned)(up % 60),
			  st->disp.generation, st->disp.generation == 1 ? "" : "s",
			  st->disp.irq_count);
	info_row(d, 9, "Uptime", v);
}

/* The scroll workload's endless log: line k, made up from k alone. */
static void log_line(char *buf, size_t cap, uint32_t k)
{
	static const char *const what[] = {
	    "virtio-gpu: RESOURCE_FLUSH 0,0 1280x720",
	    "memobj: alloc 8.0 MiB (2 MiB pages), 3 objects live",
	    "desktop: frame presented",
	    "virtio-gpu: SET_SCANOUT_BLOB head 0",
	    "intr: timer deadline reached",
	    "memobj: free 3.5 MiB, merged with neighbour",
	    "display: EDID 338x190 mm, 96 dpi",
	};
	/* Times that only go forward, at an irregular pace. */
	uint64_t us = 1200000ull + (uint64_t)k * 173219u + (k * 7919u) % 90001u;

	usnprintf(buf, cap, "[%5u.%06u] %s", (unsigned)(us / 1000000u), (unsigned)(us % 1000000u),
		  what[k % 7]);
}

static void term_text(struct desk *d, int x, int y, const char *s, uint32_t color)
{
	paint_text(&d->cv, d->font, x, y, s, color);
}

static void paint_prompt_line(struct desk *d, int x, int y, const char *cmd)
{
	x = paint_text(&d->cv, d->bold, x, y, "user@hyperdesk", C_GREEN);
	x = paint_text(&d->cv, d->font, x, y, ":", C_TEXT);
	x = paint_text(&d->cv, d->bold, x, y, "~", C_ACCENT);
	x = paint_text(&d->cv, d->font, x, y, "$ ", C_TEXT);
	paint_text(&d->cv, d->font, x, y, cmd, C_TEXT);
}

static void paint_terminal(struct desk *d, const struct desk_state *st, struct rect clip)
{
	struct rect b = d->term_body, saved = d->cv.clip;
	char title[48], line[160];
	int lh = d->line_h, fw = d->font->width;

	usnprintf(title, sizeof(title), "Terminal " G_MIDDOT " %s", workload_names[st->workload & 3]);
	paint_window(d, d->term, title, C_TERM);
	d->cv.clip = rect_intersect(clip, b);
	if (st->workload == WORKLOAD_SCROLL) {
		uint32_t first = st->scroll_px / (uint32_t)lh;
		int off = (int)(st->scroll_px % (uint32_t)lh);

		for (int i = 0; i <= d->term_rows + 1; i++) {
			int y = b.y - off + i * lh;

			if (y + lh <= d->cv.clip.y || y >= d->cv.clip.y + d->cv.clip.h)
				continue;
			log_line(line, sizeof(line), first + (uint32_t)i);
			line[d->term_cols < (int)sizeof(line) ? d->term_cols : 0] = '\0';
			paint_text(&d->cv, d->font, b.x, y, line, (first + i) % 7 == 2 ? C_GREEN : C_TEXT);
			paint_text(&d->cv, d->font, b.x, y, "[", C_DIM);
		}
	} else if (st->workload == WORKLOAD_TYPING) {
		uint32_t cols = (uint32_t)d->term_cols, n = st->typed;

		paint_prompt_line(d, b.x, b.y, "cat notes.txt");
		for (uint32_t i = 0; i < n; i++) {
			int y = b.y + (int)(1 + i / cols) * lh, x = b.x + (int)(i % cols) * fw;
			char ch[2] = {typing_text[i % (sizeof(typing_text) - 1)], 0};

			if (y + lh > d->cv.clip.y && y < d->cv.clip.y + d->cv.clip.h &&
			    x + fw > d->cv.clip.x && x < d->cv.clip.x + d->cv.clip.w)
				term_text(d, x, y, ch, C_TEXT);
		}
		term_text(d, b.x + (int)(n % cols) * fw, b.y + (int)(1 + n / cols) * lh, G_BLOCK,
			  C_ACCENT);
	} else {
		int y = b.y;

		paint_prompt_line(d, b.x, y, "uname -a");
		y += lh;
		usnprintf(line, sizeof(line), "hyperdesk-demo " DEMO_VERSION " x86_64, %u vCPU%s, %u MiB",
			  st->vcpus, st->vcpus == 1 ? "" : "s", st->ram_mib);
		term_text(d, b.x, y, line, C_TEXT);
		y += lh;
		paint_prompt_line(d, b.x, y, "dmesg | tail");
		/* The newest lines that fit, above the lines typed and a last prompt. */
		for (int i = st->nlog - (b.y + b.h - y) / lh + 2 + st->ncmd; i < st->nlog; i++) {
			if (i < 0)
				continue;
			y += lh;
			term_text(d, b.x, y, st->log[i], C_DIM);
		}
		for (int i = 0; i < st->ncmd; i++) {
			y += lh;
			if (y + lh <= b.y + b.h)
				paint_prompt_line(d, b.x, y, st->cmd_done[i]);
		}
		y += lh;
		if (y + lh <= b.y + b.h) {
			paint_prompt_line(d, b.x, y, st->cmd);
			term_text(d, b.x + (18 + st->cmd_len) * fw, y, G_BLOCK, C_ACCENT);
		}
	}
	d->cv.clip = saved;
}

/* The memory-object pool: a usage bar and the allocator's counters. */
static void paint_memwin(struct desk *d, const struct desk_state *st)
{
	struct rect r = d->memw, bar;
	const struct demo_mem_stats *m = &st->mem;
	char v[96], a[24], b[24];
	int x = r.x + sc(d, 16), y = r.y + sc(d, 34) + sc(d, 14), w = r.w - sc(d, 32), used;

	paint_window(d, r, "Memory objects", C_BODY);
	bar = rect_make(x, y, w, sc(d, 14));
	used = m->total ? (int)((uint64_t)w * m->used / m->total) : 0;
	if (m->used && used < sc(d, 3))
		used = sc(d, 3);
	paint_round(&d->cv, bar, sc(d, 7), 0x2f3445, 255, 0, 0);
	paint_round(&d->cv, rect_make(x, y, used, bar.h), sc(d, 7), C_ACCENT, 255, 0, 0);
	y += bar.h + sc(d, 12);
	fmt_mib(a, sizeof(a), m->used);
	fmt_mib(b, sizeof(b), m->total);
	usnprintf(v, sizeof(v), "%s of %s in %u object%s", a, b, m->objects,
		  m->objects == 1 ? "" : "s");
	paint_text(&d->cv, d->font, x, y, v, C_TEXT);
	y += d->line_h + sc(d, 4);
	fmt_mib(a, sizeof(a), m->largest_free);
	usnprintf(v, sizeof(v), "largest free extent %s, %u extent%s", a, m->free_extents,
		  m->free_extents == 1 ? "" : "s");
	paint_text(&d->cv, d->font, x, y, v, C_DIM);
	y += d->line_h;
	usnprintf(v, sizeof(v), "%llu allocs, %llu frees, %llu failures",
		  (unsigned long long)m->allocs, (unsigned long long)m->frees,
		  (unsigned long long)m->failures);
	paint_text(&d->cv, d->font, x, y, v, C_DIM);
}

static void paint_card(struct desk *d, const struct desk_state *st)
{
	const struct demo_head *h = &st->disp.heads[d->head];
	struct rect r = d->card;
	char t[64], clock[16], date[32];
	int y = r.y + sc(d, 34) + sc(d, 16);

	usnprintf(t, sizeof(t), "Head %d", d->head);
	paint_window(d, r, t, C_BODY);
	usnprintf(t, sizeof(t), "%u " G_TIMES " %u " G_MIDDOT " %d dpi", h->width, h->height, d->dpi);
	paint_text(&d->cv, d->font, r.x + (r.w - text_width(d->font, t)) / 2, y, t, C_DIM);
	fmt_clock(st, clock, sizeof(clock), date, sizeof(date));
	y += d->font->height + sc(d, 14);
	paint_text(&d->cv, d->big, r.x + (r.w - text_width(d->big, clock)) / 2, y, clock, C_TEXT);
	y += d->big->height + sc(d, 10);
	paint_text(&d->cv, d->font, r.x + (r.w - text_width(d->font, date)) / 2, y, date, C_DIM);
}

/* Dock icons: simple white shapes on coloured tiles (a terminal, a folder, a globe, a chart,
 * a gear), all from the primitives above so they scale with the desk. */
static void paint_icon(struct desk *d, int i, struct rect r)
{
	struct canvas *c = &d->cv;
	int cx = r.x + r.w / 2, cy = r.y + r.h / 2, u = sc(d, 1);

	switch (i) {
	case 0:
		paint_text(c, d->bold, r.x + (r.w - text_width(d->bold, ">_")) / 2,
			   r.y + (r.h - d->bold->height) / 2, ">_", C_GREEN);
		break;
	case 1: /* folder: a tab and a body */
		paint_round(c, rect_make(r.x + 9 * u, r.y + 11 * u, 10 * u, 6 * u), 2 * u, 0xffffff,
			    230, 0, 1);
		paint_round(c, rect_make(r.x + 9 * u, r.y + 14 * u, 22 * u, 15 * u), 3 * u,
			    0xffffff, 255, 0, 0);
		break;
	case 2: /* globe: a ring with a meridian and an equator */
		paint_circle(c, cx, cy, 12 * u, 0xffffff, 255);
		paint_circle(c, cx, cy, 10 * u, 0xf59e0b, 255);
		paint_fill(c, rect_make(cx - u, cy - 10 * u, 2 * u, 20 * u), 0xffffff);
		paint_fill(c, rect_make(cx - 10 * u, cy - u, 20 * u, 2 * u), 0xffffff);
		break;
	case 3: /* bar chart */
		for (int b = 0; b < 3; b++) {
			int hgt = (8 + 6 * b) * u;

			paint_round(c, rect_make(r.x + (10 + 8 * b) * u, r.y + 30 * u - hgt, 5 * u, hgt),
				    u, 0xffffff, 255, 0, 0);
		}
		break;
	default: /* gear: teeth, a ring, a hole */
		paint_fill(c, rect_make(cx - 2 * u, cy - 13 * u, 4 * u, 26 * u), 0xffffff);
		paint_fill(c, rect_make(cx - 13 * u, cy - 2 * u, 26 * u, 4 * u), 0xffffff);
		paint_circle(c, cx, cy, 10 * u, 0xffffff, 255);
		paint_circle(c, cx, cy, 4 * u, 0xec4899, 255);
		break;
	}
}

static void paint_dock(struct desk *d)
{
	struct canvas *c = &d->cv;
	static const uint32_t colors[5] = {0x24283b, 0x3b82f6, 0xf59e0b, 0x10b981, 0xec4899};
	int s = sc(d, 40), x = d->dock.x + sc(d, 12), y = d->dock.y + (d->dock.h - s) / 2;

	paint_shadow(c, d->dock, sc(d, 16), sc(d, 16), sc(d, 4), 90);
	paint_round(c, d->dock, sc(d, 16), 0xffffff, 38, 0, 0);
	for (int i = 0; i < 5; i++, x += s + sc(d, 12)) {
		struct rect r = rect_make(x, y, s, s);

		paint_round(c, r, sc(d, 10), colors[i], 255, 0, 0);
		paint_round(c, rect_make(x, y, s, s / 2), sc(d, 10), 0xffffff, 20, 0, 1);
		paint_icon(d, i, r);
	}
	/* The running terminal gets the usual dot under its icon. */
	paint_circle(c, d->dock.x + sc(d, 12) + s / 2, d->dock.y + d->dock.h - sc(d, 5), sc(d, 2),
		     0xffffff, 200);
}

/* ------------------------------ the whole scene ------------------------------ */

void scene_paint(struct desk *d, const struct desk_state *st, struct rect clip)
{
	struct canvas *c = &d->cv;

	clip = rect_intersect(clip, rect_make(0, 0, c->w, c->h));
	if (rect_empty(clip))
		return;
	c->clip = clip;
	if (st->workload == WORKLOAD_VIDEO)
		paint_plasma(d, st, clip);
	else
		paint_wallpaper(d, clip);
	if (!rect_empty(d->dock) && rect_overlaps(clip, rect_inset(d->dock, -sc(d, 24))))
		paint_dock(d);
	if (!rect_empty(d->card) && rect_overlaps(clip, rect_inset(d->card, -sc(d, 32))))
		paint_card(d, st);
	if (!rect_empty(d->info) && rect_overlaps(clip, rect_inset(d->info, -sc(d, 32))))
		paint_info(d, st);
	if (!rect_empty(d->memw) && rect_overlaps(clip, rect_inset(d->memw, -sc(d, 32))))
		paint_memwin(d, st);
	if (!rect_empty(d->term) && rect_overlaps(clip, rect_inset(d->term, -sc(d, 32))))
		paint_terminal(d, st, clip);
	if (rect_overlaps(clip, d->panel))
		paint_panel(d, st);
	if (d->click_on && rect_overlaps(clip, d->click))
		paint_circle(c, d->click.x + d->click.w / 2, d->click.y + d->click.h / 2,
			     d->click.w / 2, C_ACCENT, 110);
	if (!st->hw_cursor && rect_overlaps(clip, d->ptr))
		paint_pointer(c, d->ptr_x, d->ptr_y, d->scale);
	c->clip = rect_make(0, 0, c->w, c->h);
}

struct rect scene_click_rect(const struct desk *d, int x, int y)
{
	int r = sc(d, 14);

	return rect_make(x - r, y - r, 2 * r + 1, 2 * r + 1);
}

struct rect scene_typing_rect(const struct desk *d, uint32_t n)
{
	uint32_t cols = (uint32_t)d->term_cols, i = n ? n - 1 : 0;
	int fw = d->font->width;
	struct rect a, b;

	if (!cols)
		return rect_make(0, 0, 0, 0);
	a = rect_make(d->term_body.x + (int)(i % cols) * fw,
		      d->term_body.y + (int)(1 + i / cols) * d->line_h, fw, d->line_h);
	b = rect_make(d->term_body.x + (int)(n % cols) * fw,
		      d->term_body.y + (int)(1 + n / cols) * d->line_h, fw, d->line_h);
	return rect_intersect(rect_union(a, b), d->term_body);
}

int scene_typing_full(const struct desk *d, uint32_t n)
{
	return !d->term_cols || (int)(1 + n / (uint32_t)d->term_cols) >= d->term_rows;
}

void scene_animate(struct desk *d, const struct desk_state *st)
{
	int W = d->cv.w, H = d->cv.h;

	d->ptr_x = W / 2 + sine[(st->phase / 2) & 255] * (W / 3) / 128;
	d->ptr_y = H / 2 + sine[(st->phase + 64) & 255] * (H / 4) / 128;
	d->ptr = pointer_rect(d->ptr_x, d->ptr_y, d->scale);
}

int scene_line_h(const struct desk *d)
{
	return d->line_h;
}
