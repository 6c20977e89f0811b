/* paint.c: the demo desktop's software drawing: fills, blends, rounded rectangles, shadows,
 * circles, bitmap text, the pointer. Not accelerated: plain loops, run natively at CPL3. */
#include "paint.h"

static int imin(int a, int b)
{
	return a < b ? a : b;
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

/* SQRTSS directly: no libm, and no errno path for the compiler to keep. */
static inline float fsqrt(float v)
{
	float r;

	asm("sqrtss %1, %0" : "=x"(r) : "x"(v));
	return r;
}

uint32_t isqrt32(uint32_t v)
{
	uint32_t r = (uint32_t)fsqrt((float)v);

	while (r * r > v)
		r--;
	while ((r + 1) * (r + 1) <= v)
		r++;
	return r;
}

struct rect rect_intersect(struct rect a, struct rect b)
{
	struct rect r;
	int x1 = imin(a.x + a.w, b.x + b.w), y1 = imin(a.y + a.h, b.y + b.h);

	r.x = imax(a.x, b.x);
	r.y = imax(a.y, b.y);
	r.w = x1 - r.x;
	r.h = y1 - r.y;
	if (r.w < 0 || r.h < 0)
		r.w = r.h = 0;
	return r;
}

struct rect rect_union(struct rect a, struct rect b)
{
	struct rect r;

	if (rect_empty(a))
		return b;
	if (rect_empty(b))
		return a;
	r.x = imin(a.x, b.x);
	r.y = imin(a.y, b.y);
	r.w = imax(a.x + a.w, b.x + b.w) - r.x;
	r.h = imax(a.y + a.h, b.y + b.h) - r.y;
	return r;
}

struct rect rect_inset(struct rect r, int d)
{
	return rect_make(r.x + d, r.y + d, r.w - 2 * d, r.h - 2 * d);
}

int rect_overlaps(struct rect a, struct rect b)
{
	return !rect_empty(rect_intersect(a, b));
}

/* r limited to the canvas and its clip. */
static struct rect visible(const struct canvas *c, struct rect r)
{
	return rect_intersect(rect_intersect(r, c->clip), rect_make(0, 0, c->w, c->h));
}

void paint_fill(struct canvas *c, struct rect r, uint32_t color)
{
	r = visible(c, r);
	for (int y = r.y; y < r.y + r.h; y++) {
		uint32_t *p = c->px + (long)y * c->stride + r.x;

		for (int x = 0; x < r.w; x++)
			p[x] = color;
	}
}

/* One channel value c to bits bits with dither threshold t (0..255), expanded back. */
static uint8_t reduce_channel(uint32_t c, unsigned bits, uint32_t t)
{
	uint32_t levels = (1u << bits) - 1, q = (c * levels + t) / 255;

	q = q > levels ? levels : q;
	return (uint8_t)((q << (8 - bits)) | (q >> (2 * bits - 8)));
}

/* Per dither cell: every 8-bit value reduced to 5 and 6 bits and expanded; and whether a
 * value is such an expansion already. Built at the first use (12 KiB). */
static uint8_t red5[16][256], red6[16][256], is5[256], is6[256];
static int reduce_ready;

static void reduce_init(void)
{
	/* Bayer's 4x4 matrix, as thresholds in the middle of 16 steps of 0..255. */
	static const uint8_t bayer[16] = {8,   136, 40,  168, 200, 72,  232, 104,
					  56,  184, 24,  152, 248, 120, 216, 88};

	for (int k = 0; k < 16; k++)
		for (uint32_t v = 0; v < 256; v++) {
			red5[k][v] = reduce_channel(v, 5, bayer[k]);
			red6[k][v] = reduce_channel(v, 6, bayer[k]);
		}
	for (uint32_t v = 0; v < 256; v++) {
		is5[v] = v == ((v & 0xf8) | (v >> 5));
		is6[v] = v == ((v & 0xfc) | (v >> 6));
	}
	reduce_ready = 1;
}

void paint_reduce565(struct canvas *c, struct rect r)
{
	if (!reduce_ready)
		reduce_init();
	r = rect_intersect(r, rect_make(0, 0, c->w, c->h));
	for (int y = r.y; y < r.y + r.h; y++) {
		uint32_t *p = c->px + (long)y * c->stride;
		int row = (y & 3) * 4;

		for (int x = r.x; x < r.x + r.w; x++) {
			uint32_t v = p[x], R = (v >> 16) & 0xff, G = (v >> 8) & 0xff, B = v & 0xff;
			int k = row + (x & 3);

			if (is5[R] & is6[G] & is5[B])
				continue;
			p[x] = (uint32_t)red5[k][R] << 16 | (uint32_t)red6[k][G] << 8 | red5[k][B];
		}
	}
}

void paint_blend(struct canvas *c, struct rect r, uint32_t color, unsigned alpha)
{
	r = visible(c, r);
	for (int y = r.y; y < r.y + r.h; y++) {
		uint32_t *p = c->px + (long)y * c->stride + r.x;

		for (int x = 0; x < r.w; x++)
			p[x] = color_mix(color, p[x], alpha);
	}
}

static void plot(struct canvas *c, int x, int y, uint32_t color, unsigned alpha)
{
	uint32_t *p = c->px + (long)y * c->stride + x;

	*p = alpha >= 255 ? color : color_mix(color, *p, alpha);
}

/* Coverage (0..255) of pixel (x, y) by a disc of radius rad centred at (cx, cy), both in
 * pixel-centre coordinates: one sample, a linear ramp one pixel wide at the edge. */
static unsigned disc_cover(float cx, float cy, float rad, int x, int y)
{
	float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy;
	float d = fsqrt(dx * dx + dy * dy), cov = rad - d + 0.5f;

	if (cov <= 0)
		return 0;
	return cov >= 1 ? 255 : (unsigned)(cov * 255.0f);
}

void paint_round(struct canvas *c, struct rect r, int rad, uint32_t color, unsigned alpha,
		 int square_top, int square_bottom)
{
	struct rect v = visible(c, r);

	rad = imin(rad, imin(r.w, r.h) / 2);
	for (int y = v.y; y < v.y + v.h; y++) {
		int top = !square_top && y < r.y + rad;
		int bottom = !square_bottom && y >= r.y + r.h - rad;
		float cy = top ? (float)(r.y + rad) : (float)(r.y + r.h - rad);

		for (int x = v.x; x < v.x + v.w; x++) {
			unsigned a = alpha;

			if ((top || bottom) && (x < r.x + rad || x >= r.x + r.w - rad)) {
				float cx = x < r.x + rad ? (float)(r.x + rad) : (float)(r.x + r.w - rad);

				a = disc_cover(cx, cy, (float)rad, x, y) * alpha / 255;
				if (!a)
					continue;
			}
			plot(c, x, y, color, a);
		}
	}
}

void paint_shadow(struct canvas *c, struct rect r, int rad, int blur, int dy, unsigned alpha)
{
	struct rect s = rect_make(r.x, r.y + dy, r.w, r.h);
	struct rect v = visible(c, rect_inset(s, -blur));
	/* What the window itself covers later: not worth shading. */
	struct rect skip = rect_inset(r, rad);
	float hx = s.w / 2.0f - rad, hy = s.h / 2.0f - rad;
	float mx = s.x + s.w / 2.0f, my = s.y + s.h / 2.0f;

	for (int y = v.y; y < v.y + v.h; y++) {
		for (int x = v.x; x < v.x + v.w; x++) {
			float qx, qy, d, t;
			unsigned a;

			if (x >= skip.x && x < skip.x + skip.w && y >= skip.y && y < skip.y + skip.h) {
				x = skip.x + skip.w - 1;
				continue;
			}
			/* Signed distance to the rounded box, then a smooth falloff. */
			qx = (float)x + 0.5f - mx;
			qy = (float)y + 0.5f - my;
			qx = (qx < 0 ? -qx : qx) - hx;
			qy = (qy < 0 ? -qy : qy) - hy;
			if (qx > 0 && qy > 0)
				d = fsqrt(qx * qx + qy * qy);
			else
				d = qx > qy ? qx : qy;
			d -= (float)rad;
			if (d >= (float)blur)
				continue;
			t = d <= 0 ? 1.0f : 1.0f - d / (float)blur;
			a = (unsigned)(t * t * (float)alpha);
			if (a)
				plot(c, x, y, 0x000000, a);
		}
	}
}

void paint_circle(struct canvas *c, int cx, int cy, int radius, uint32_t color, unsigned alpha)
{
	struct rect v = visible(c, rect_make(cx - radius - 1, cy - radius - 1, 2 * radius + 2,
					     2 * radius + 2));

	for (int y = v.y; y < v.y + v.h; y++)
		for (int x = v.x; x < v.x + v.w; x++) {
			unsigned a = disc_cover((float)cx, (float)cy, (float)radius, x, y) * alpha / 255;

			if (a)
				plot(c, x, y, color, a);
		}
}

void paint_hline(struct canvas *c, int x, int y, int w, uint32_t color, unsigned alpha)
{
	paint_blend(c, rect_make(x, y, w, 1), color, alpha);
}

static const unsigned char *glyph(const struct font *f, unsigned char ch)
{
	unsigned i = ch >= f->first && ch - f->first < f->count ? ch - f->first : '?' - f->first;

	return f->bits + (unsigned long)i * f->height * f->row_bytes;
}

int paint_text(struct canvas *c, const struct font *f, int x, int y, const char *s,
	       uint32_t color)
{
	for (; *s; s++, x += f->width) {
		struct rect v = visible(c, rect_make(x, y, f->width, f->height));
		const unsigned char *g;

		if (rect_empty(v) || *s == ' ')
			continue;
		g = glyph(f, (unsigned char)*s);
		for (int row = v.y - y; row < v.y - y + v.h; row++) {
			const unsigned char *bits = g + row * f->row_bytes;
			uint32_t *p = c->px + (long)(y + row) * c->stride + x;

			for (int col = v.x - x; col < v.x - x + v.w; col++)
				if (bits[col >> 3] & (0x80 >> (col & 7)))
					p[col] = color;
		}
	}
	return x;
}

int text_width(const struct font *f, const char *s)
{
	int n = 0;

	while (s[n])
		n++;
	return n * f->width;
}

/* X outline, . fill, space transparent; hot spot top-left. */
static const char *const arrow[] = {
    "X           ", "XX          ", "X.X         ", "X..X        ", "X...X       ",
    "X....X      ", "X.....X     ", "X......X    ", "X.......X   ", "X........X  ",
    "X.........X ", "X......XXXXX", "X...X..X    ", "X..XX..X    ", "X.X  X..X   ",
    "XX   X..X   ", "X     X..X  ", "      X..X  ", "       XX   ",
};
#define ARROW_W 12
#define ARROW_H 19

struct rect pointer_rect(int x, int y, int scale)
{
	return rect_make(x, y, ARROW_W * scale + 2, ARROW_H * scale + 2);
}

void paint_pointer(struct canvas *c, int x, int y, int scale)
{
	/* A faint drop shadow one pixel down-right, then the arrow itself. */
	for (int pass = 0; pass < 2; pass++) {
		int ox = pass ? 0 : 1, oy = pass ? 0 : 1;

		for (int row = 0; row < ARROW_H * scale; row++) {
			for (int col = 0; col < ARROW_W * scale; col++) {
				char m = arrow[row / scale][col / scale];
				int px = x + col + ox, py = y + row + oy;

				if (m == ' ' || px < c->clip.x || py < c->clip.y ||
				    px >= c->clip.x + c->clip.w || py >= c->clip.y + c->clip.h ||
				    px >= c->w || py >= c->h || px < 0 || py < 0)
					continue;
				if (!pass)
					plot(c, px, py, 0x000000, 70);
				else
					plot(c, px, py, m == 'X' ? 0x101010 : 0xffffff, 255);
			}
		}
	}
}

void pointer_image(uint32_t *img, int scale)
{
	for (int i = 0; i < 64 * 64; i++)
		img[i] = 0;
	for (int row = 0; row < ARROW_H * scale && row < 64; row++)
		for (int col = 0; col < ARROW_W * scale && col < 64; col++) {
			char m = arrow[row / scale][col / scale];

			if (m != ' ')
				img[row * 64 + col] = m == 'X' ? 0xff101010u : 0xffffffffu;
		}
}
