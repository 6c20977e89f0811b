/* keymap.h: X11 keysym and PC scancode to Linux key code (keymap.c), for the display link's keyboard.
 * Not an input device: the codes go to hypervisor-core's virtio-input keyboard. */
#ifndef HD_KEYMAP_H
#define HD_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

#define KEYMAP_KEY_LEFTSHIFT  42
#define KEYMAP_KEY_RIGHTSHIFT 54

/* The Linux key code (1..255) of the key that types keysym on a US PC keyboard, or 0 for a
 * keysym we do not map. *shifted: the character needs Shift (e.g. 'A', '!'). */
int keymap_from_keysym(uint32_t keysym, bool *shifted);

/* The Linux key code of a PC scancode (set 1, as RDP sends it: 0xe0xx for an extended key),
 * or 0 for one we do not map. */
int keymap_from_scancode(uint32_t scancode);

#endif
