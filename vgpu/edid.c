/* edid.c: builds the 128-byte EDID 1.4 base block GET_EDID returns for a head (VESA E-EDID
 * release A rev. 2): the requested mode as the preferred detailed timing, and the physical
 * size, so the guest can work out the DPI. Not extension blocks (DisplayID, CTA-861). */
#include <stdio.h>
#include <string.h>

#include "vgpu-internal.h"

#define EDID_LEN      128
#define REFRESH_HZ    60
#define DTD_MAX_ACT   4095u  /* 12-bit active fields of a detailed timing */
#define DTD_MAX_CLK   65535u /* 16-bit pixel clock in 10 kHz units */
#define MIN_VBLANK_US 460u   /* CVT reduced blanking's minimum vertical blanking time */

/* CVT reduced-blanking style horizontal timing: fixed blanking, which every digital sink and
 * every guest accepts for a virtual display. */
#define H_BLANK	   160u
#define H_FRONT	   48u
#define H_SYNC	   32u
#define V_FRONT	   3u
#define V_SYNC	   6u
#define V_BACK_MIN 6u

/* Three letters, five bits each ('A' = 1), big-endian: "HDK". */
static void put_vendor(uint8_t *e)
{
	const char *id = "HDK";
	uint16_t v =
	    (uint16_t)((id[0] - 'A' + 1) << 10 | (id[1] - 'A' + 1) << 5 | (id[2] - 'A' + 1));
	e[8] = (uint8_t)(v >> 8);
	e[9] = (uint8_t)v;
}

/* sRGB primaries and D65 white as 10-bit binary fractions (value * 1024). */
static void put_chromaticity(uint8_t *e)
{
	static const uint16_t c[8] = {
	    655, 338, /* red x, y: 0.640, 0.330 */
	    307, 614, /* green: 0.300, 0.600 */
	    154, 61,  /* blue: 0.150, 0.060 */
	    320, 337, /* white: 0.3127, 0.3290 */
	};
	e[25] = (uint8_t)((c[0] & 3) << 6 | (c[1] & 3) << 4 | (c[2] & 3) << 2 | (c[3] & 3));
	e[26] = (uint8_t)((c[4] & 3) << 6 | (c[5] & 3) << 4 | (c[6] & 3) << 2 | (c[7] & 3));
	for (int i = 0; i < 8; i++)
		e[27 + i] = (uint8_t)(c[i] >> 2);
}

#define EDID_DTD_MAX_MM 4095 /* 12-bit image size fields */

/* An 18-byte detailed timing descriptor for w x h with an image of w_mm x h_mm. */
static void put_dtd(uint8_t *d, uint32_t w, uint32_t h, uint32_t w_mm, uint32_t h_mm)
{
	/* Larger modes cannot be written here; the guest still gets the exact size from
	 * GET_DISPLAY_INFO, and the DPI from the sizes. */
	w = w < DTD_MAX_ACT ? w : DTD_MAX_ACT;
	h = h < DTD_MAX_ACT ? h : DTD_MAX_ACT;

	/* Enough blank lines for MIN_VBLANK_US at REFRESH_HZ: lines * frame time / total >=
	 * the minimum, approximated with the active lines (within a line or two). */
	uint32_t frame_us = 1000000u / REFRESH_HZ;
	uint32_t vblank =
	    (uint32_t)(((uint64_t)MIN_VBLANK_US * h + (frame_us - MIN_VBLANK_US) - 1) /
		       (frame_us - MIN_VBLANK_US));
	if (vblank < V_FRONT + V_SYNC + V_BACK_MIN)
		vblank = V_FRONT + V_SYNC + V_BACK_MIN;
	uint64_t htotal = w + H_BLANK, vtotal = h + vblank;
	/* 10 kHz units; huge modes lower their refresh rate until the clock fits. */
	uint64_t clock = (htotal * vtotal * REFRESH_HZ + 9999) / 10000;
	if (clock > DTD_MAX_CLK) {
		uint64_t hz = (uint64_t)DTD_MAX_CLK * 10000 / (htotal * vtotal);
		clock = (htotal * vtotal * (hz ? hz : 1) + 9999) / 10000;
		if (clock > DTD_MAX_CLK)
			clock = DTD_MAX_CLK;
	}

	d[0] = (uint8_t)clock;
	d[1] = (uint8_t)(clock >> 8);
	d[2] = (uint8_t)w;
	d[3] = (uint8_t)H_BLANK;
	d[4] = (uint8_t)((w >> 8) << 4 | (H_BLANK >> 8));
	d[5] = (uint8_t)h;
	d[6] = (uint8_t)vblank;
	d[7] = (uint8_t)((h >> 8) << 4 | (vblank >> 8));
	d[8] = (uint8_t)H_FRONT;
	d[9] = (uint8_t)H_SYNC;
	d[10] = (uint8_t)((V_FRONT & 15) << 4 | (V_SYNC & 15));
	d[11] = (uint8_t)((H_FRONT >> 8) << 6 | (H_SYNC >> 8) << 4 | (V_FRONT >> 4) << 2 |
			  (V_SYNC >> 4));
	d[12] = (uint8_t)w_mm;
	d[13] = (uint8_t)h_mm;
	d[14] = (uint8_t)((w_mm >> 8) << 4 | (h_mm >> 8));
	d[15] = 0; /* no borders */
	d[16] = 0;
	/* Progressive, digital separate sync, +hsync -vsync (as reduced blanking has it). */
	d[17] = 0x18 | 0x02;
}

/* A display descriptor (tag 0xFC name, 0xFF serial) holding up to 13 characters of text,
 * ended with a line feed and padded with spaces. */
static void put_text(uint8_t *d, uint8_t tag, const char *text)
{
	size_t n = strlen(text);

	memset(d, 0, 18);
	d[3] = tag;
	n = n < 13 ? n : 13;
	memcpy(d + 5, text, n);
	if (n < 13) {
		d[5 + n] = 0x0a;
		memset(d + 6 + n, 0x20, 12 - n);
	}
}

void vgpu_edid_build(uint8_t e[EDID_LEN], unsigned head, uint32_t width, uint32_t height,
		     uint32_t width_mm, uint32_t height_mm, uint32_t bpc)
{
	static const uint8_t magic[8] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
	char serial[14];

	memset(e, 0, EDID_LEN);
	memcpy(e, magic, sizeof(magic));
	put_vendor(e);
	e[10] = (uint8_t)(0x01 + head); /* product code: one per head */
	e[11] = 0x10;
	e[12] = (uint8_t)(head + 1); /* serial number */
	e[16] = 1;		     /* week 1 */
	e[17] = 2024 - 1990;	     /* year of manufacture */
	e[18] = 1;		     /* EDID 1.4 */
	e[19] = 4;
	/* Digital, DisplayPort; bits 6-4 the colour depth: 001 = 6 bits per primary colour,
	 * 010 = 8 (the viewer's, which is all the guest's pixels can reach). */
	e[20] = (uint8_t)(0x80 | (bpc == 6 ? 0x10 : 0x20) | 0x05);
	/* Screen size in cm, rounded; at least 1 so it is not read as an aspect ratio. */
	uint32_t wcm = (width_mm + 5) / 10, hcm = (height_mm + 5) / 10;
	e[21] = (uint8_t)(wcm < 1 ? 1 : wcm > 255 ? 255 : wcm);
	e[22] = (uint8_t)(hcm < 1 ? 1 : hcm > 255 ? 255 : hcm);
	e[23] = 120; /* gamma 2.2, stored as (gamma - 1) * 100 */
	/* RGB 4:4:4, sRGB is the default colour space, the preferred timing is native. */
	e[24] = 0x04 | 0x02;
	put_chromaticity(e);
	/* No established timings; unused standard timings are 01 01. */
	for (int i = 38; i < 54; i++)
		e[i] = 0x01;
	/* The timing descriptor holds at most 4095 mm a side; a larger screen (a wide mode at the
	 * default DPI) is scaled down as a whole, so the aspect and the x/y DPI ratio survive
	 * rather than the size wrapping modulo 4096. */
	uint32_t big = width_mm > height_mm ? width_mm : height_mm;
	if (big > EDID_DTD_MAX_MM) {
		width_mm = (uint32_t)((uint64_t)width_mm * EDID_DTD_MAX_MM / big);
		height_mm = (uint32_t)((uint64_t)height_mm * EDID_DTD_MAX_MM / big);
	}
	put_dtd(e + 54, width, height, width_mm, height_mm);
	put_text(e + 72, 0xfc, "hyperdesk");
	snprintf(serial, sizeof(serial), "HD-%u", head);
	put_text(e + 90, 0xff, serial);
	/* The last one is a dummy descriptor (tag 0x10). */
	memset(e + 108, 0, 18);
	e[108 + 3] = 0x10;
	e[126] = 0; /* no extension blocks */
	uint8_t sum = 0;
	for (int i = 0; i < EDID_LEN - 1; i++)
		sum = (uint8_t)(sum + e[i]);
	e[127] = (uint8_t)(0x100 - sum);
}
