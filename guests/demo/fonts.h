/* fonts.h: the demo program's bitmap fonts, generated at build time by scripts/gen-font.py
 * from Terminus console fonts (Debian: console-setup-linux). Not a font engine: fixed cells. */
#ifndef DEMO_FONTS_H
#define DEMO_FONTS_H

/* Glyph c of a font is bits + (c - first) * height * row_bytes; rows top down, the leftmost
 * pixel in the top bit of each row's first byte. */
struct font {
	unsigned char width, height, row_bytes, first;
	unsigned short count;
	const unsigned char *bits;
};

extern const struct font font_regular;	  /* Terminus 8x16 */
extern const struct font font_bold;	  /* Terminus Bold 8x16 */
extern const struct font font_large;	  /* Terminus 16x32 */
extern const struct font font_large_bold; /* Terminus Bold 16x32 */

/* Characters past ASCII (scripts/gen-font.py EXTRAS, same order). */
#define G_MIDDOT   "\x7f"
#define G_DEGREE   "\x80"
#define G_BULLET   "\x81"
#define G_ELLIPSIS "\x82"
#define G_TIMES	   "\x83"
#define G_PLAY	   "\x84"
#define G_LARROW   "\x85"
#define G_RARROW   "\x86"
#define G_CIRCLE   "\x87"
#define G_BLOCK	   "\x88"
#define G_UP	   "\x89"

#endif
