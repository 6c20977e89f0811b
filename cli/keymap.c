/* keymap.c: X11 keysyms (what VNC clients send) to Linux evdev key codes on a US PC keyboard.
 * Not a layout engine: the guest applies Shift itself; this only names the key pressed. */
#include <stddef.h>
#include <stdint.h>

#include "keymap.h"

/* linux/input-event-codes.h numbers for the printable ASCII range (0x20..0x7e), US layout;
 * bit 8 marks a character typed with Shift. */
#define S(code) ((code) | 0x100)
static const uint16_t ascii_keys[95] = {
	57,	  S(2),	 S(40), S(4),  S(5),  S(6),  S(8),  40,	   /*  !"#$%&' */
	S(10),	  S(11), S(9),	S(13), 51,    12,    52,    53,	   /* ()*+,-./ */
	11,	  2,	 3,	4,     5,     6,     7,	    8,	   /* 01234567 */
	9,	  10,	 S(39), 39,    S(51), 13,    S(52), S(53), /* 89:;<=>? */
	S(3),	  S(30), S(48), S(46), S(32), S(18), S(33), S(34), /* @ABCDEFG */
	S(35),	  S(23), S(36), S(37), S(38), S(50), S(49), S(24), /* HIJKLMNO */
	S(25),	  S(16), S(19), S(31), S(20), S(22), S(47), S(17), /* PQRSTUVW */
	S(45),	  S(21), S(44), 26,    43,    27,    S(7),  S(12), /* XYZ[\]^_ */
	41,	  30,	 48,	46,    32,    18,    33,    34,	   /* `abcdefg */
	35,	  23,	 36,	37,    38,    50,    49,    24,	   /* hijklmno */
	25,	  16,	 19,	31,    20,    22,    47,    17,	   /* pqrstuvw */
	45,	  21,	 44,	S(26), S(43), S(27), S(41),	   /* xyz{|}~ */
};
#undef S

struct keysym_key {
	uint32_t keysym;
	uint16_t code;
};

/* Function, editing, cursor and modifier keys (X11 keysymdef.h). */
static const struct keysym_key special_keys[] = {
	{0xff08, 14},  /* BackSpace */
	{0xff09, 15},  /* Tab */
	{0xfe20, 15},  /* ISO_Left_Tab (Shift+Tab) */
	{0xff0d, 28},  /* Return */
	{0xff13, 119}, /* Pause */
	{0xff14, 70},  /* Scroll_Lock */
	{0xff1b, 1},   /* Escape */
	{0xff50, 102}, /* Home */
	{0xff51, 105}, /* Left */
	{0xff52, 103}, /* Up */
	{0xff53, 106}, /* Right */
	{0xff54, 108}, /* Down */
	{0xff55, 104}, /* Page_Up */
	{0xff56, 109}, /* Page_Down */
	{0xff57, 107}, /* End */
	{0xff63, 110}, /* Insert */
	{0xff67, 127}, /* Menu */
	{0xff7f, 69},  /* Num_Lock */
	{0xff8d, 96},  /* KP_Enter */
	{0xffe1, 42},  /* Shift_L */
	{0xffe2, 54},  /* Shift_R */
	{0xffe3, 29},  /* Control_L */
	{0xffe4, 97},  /* Control_R */
	{0xffe5, 58},  /* Caps_Lock */
	{0xffe7, 125}, /* Meta_L */
	{0xffe8, 126}, /* Meta_R */
	{0xffe9, 56},  /* Alt_L */
	{0xffea, 100}, /* Alt_R */
	{0xfe03, 100}, /* ISO_Level3_Shift (AltGr) */
	{0xffeb, 125}, /* Super_L */
	{0xffec, 126}, /* Super_R */
	{0xffff, 111}, /* Delete */
};

int keymap_from_keysym(uint32_t keysym, bool *shifted)
{
	*shifted = false;
	if (keysym >= 0x20 && keysym <= 0x7e) {
		uint16_t k = ascii_keys[keysym - 0x20];
		*shifted = k & 0x100;
		return k & 0xff;
	}
	/* F1..F10 are 59..68; F11 and F12 sit apart at 87 and 88. */
	if (keysym >= 0xffbe && keysym <= 0xffc7)
		return (int)(59 + keysym - 0xffbe);
	if (keysym == 0xffc8 || keysym == 0xffc9)
		return (int)(87 + keysym - 0xffc8);
	for (size_t i = 0; i < sizeof(special_keys) / sizeof(special_keys[0]); i++)
		if (special_keys[i].keysym == keysym)
			return special_keys[i].code;
	return 0;
}

/* Set 1 make codes 0x01..0x58 are the Linux key codes themselves (KEY_ESC 1 .. KEY_F12 88);
 * the extended (0xe0) keys a PC keyboard has sit elsewhere. */
static const struct {
	uint8_t code, key;
} extended_keys[] = {
	{0x1c, 96},  /* keypad Enter */
	{0x1d, 97},  /* right Control */
	{0x35, 98},  /* keypad / */
	{0x37, 99},  /* Print Screen (SysRq) */
	{0x38, 100}, /* right Alt (AltGr) */
	{0x47, 102}, /* Home */
	{0x48, 103}, /* Up */
	{0x49, 104}, /* Page Up */
	{0x4b, 105}, /* Left */
	{0x4d, 106}, /* Right */
	{0x4f, 107}, /* End */
	{0x50, 108}, /* Down */
	{0x51, 109}, /* Page Down */
	{0x52, 110}, /* Insert */
	{0x53, 111}, /* Delete */
	{0x5b, 125}, /* left Windows (Meta) */
	{0x5c, 126}, /* right Windows */
	{0x5d, 127}, /* Menu (Compose) */
};

int keymap_from_scancode(uint32_t scancode)
{
	if (scancode >= 0x01 && scancode <= 0x58)
		return (int)scancode;
	if ((scancode >> 8) != 0xe0)
		return 0;
	for (size_t i = 0; i < sizeof(extended_keys) / sizeof(extended_keys[0]); i++)
		if (extended_keys[i].code == (scancode & 0xff))
			return extended_keys[i].key;
	return 0;
}
