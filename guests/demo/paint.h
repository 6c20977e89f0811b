/* paint.h: the demo program's software drawing primitives on a 32-bit 0x00RRGGBB canvas, every
 * one confined to the canvas's clip rectangle. Not a compositor: callers paint back to front. */
#ifndef DEMO_PAINT_H
#define DEMO_PAINT_H

#include <stdint.h>

#include "fonts.h"

struct rect {
	int x, y, w, h;
};

struct canvas {
	uint32_t *px;
	int w, h, stride; /* stride in pixels */
	struct rect clip; /* nothing outside it (or the canvas) is touched */
};

static inline struct rect rect_make(int x, int y, int w, int h)
{
	struct rect r = {x, y, w, h};

	return r;
}

static inline int rect_empty(struct rect r)
{
	return r.w <= 0 || r.h <= 0;
}

struct rect rect_intersect(struct rect a, struct rect b);
struct rect rect_union(struct rect a, struct rect b); /* bounding box; empty ones ignored */
struct rect rect_inset(struct rect r, int d);	      /* d < 0 grows it */
int rect_overlaps(struct rect a, struct rect b);

/* a weighted against b: alpha 0 gives b, 255 gives a. Red and blue in one multiply, green
 * in another; inline because it runs per pixel. */
static inline uint32_t color_mix(uint32_t a, uint32_t b, unsigned alpha)
{
	uint32_t w = alpha + (alpha >> 7); /* 0..256 */
	uint32_t rb = ((a & 0xff00ff) * w + (b & 0xff00ff) * (256 - w)) >> 8;
	uint32_t g = ((a & 0x00ff00) * w + (b & 0x00ff00) * (256 - w)) >> 8;

	return (rb & 0xff00ff) | (g & 0x00ff00);
}

void paint_fill(struct canvas *c, struct rect r, uint32_t color);
void paint_blend(struct canvas *c, struct rect r, uint32_t color, unsigned alpha);
/* Filled rectangle with anti-aliased rounded corners of radius rad; mask_top/mask_bottom
 * square off the top or bottom corners (a title bar, a window body). */
void paint_round(struct canvas *c, struct rect r, int rad, uint32_t color, unsigned alpha,
		 int square_top, int square_bottom);
/* A soft shadow of a rounded rectangle, fading out over blur pixels, offset down by dy. */
void paint_shadow(struct canvas *c, struct rect r, int rad, int blur, int dy, unsigned alpha);
void paint_circle(struct canvas *c, int cx, int cy, int radius, uint32_t color, unsigned alpha);
/* Horizontal line of 1 px (or h px) at alpha. */
void paint_hline(struct canvas *c, int x, int y, int w, uint32_t color, unsigned alpha);

/* Text in one colour, top-left at (x, y); returns the x after the last glyph. */
int paint_text(struct canvas *c, const struct font *f, int x, int y, const char *s,
	       uint32_t color);
int text_width(const struct font *f, const char *s);

/* The arrow pointer, hot spot at (x, y), scale 1 or 2; its bounding box. */
void paint_pointer(struct canvas *c, int x, int y, int scale);
struct rect pointer_rect(int x, int y, int scale);
/* The same arrow as a 64x64 ARGB cursor image (alpha in the top byte). */
void pointer_image(uint32_t *argb64x64, int scale);

/* Reduces r (within the canvas; the clip does not apply) to what a 16-bit viewer shows,
 * RGB 5-6-5, with a 4x4 ordered dither so gradients and blends band less; each channel is
 * written back expanded to 8 bits. Pixels that are 5-6-5 values already stay as they are, so
 * reducing twice changes nothing. */
void paint_reduce565(struct canvas *c, struct rect r);

/* Integer square root (floor). */
uint32_t isqrt32(uint32_t v);

#endif
