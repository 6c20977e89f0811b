/* ulib.h: the demo program's tiny runtime: system-call wrappers, string helpers and a
 * buffered printf. Not libc: only what the program uses, and the formats listed in ulib.c. */
#ifndef DEMO_ULIB_H
#define DEMO_ULIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "demo-abi.h"

/* The compiler may emit calls to these four on its own (struct copies, zeroing), so they
 * keep their standard names. They live in the program's pages; the kernel never calls them. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

long sys_write(const void *buf, size_t len);
__attribute__((noreturn)) void sys_exit(int code);
long sys_bootinfo(struct demo_bootinfo *dst);
__attribute__((noreturn)) void sys_idle(void);
uint64_t sys_time_ns(int clock);
long sys_sleep(uint64_t ms);
long sys_gpu_open(unsigned flags);
long sys_display_info(struct demo_display_info *info);
long sys_display_wait(uint64_t timeout_ms, struct demo_display_info *info);
long sys_surface_create(uint32_t w, uint32_t h, struct demo_surface_info *info);
long sys_surface_flush(uint32_t handle, uint32_t x, uint32_t y, uint32_t w, uint32_t h);
long sys_surface_set_scanout(uint32_t handle, uint32_t head);
long sys_surface_destroy(uint32_t handle);
long sys_mem_stats(struct demo_mem_stats *st);
long sys_cursor_set(const uint32_t *pixels, uint32_t hot_x, uint32_t hot_y, uint32_t head);
long sys_cursor_move(uint32_t head, uint32_t x, uint32_t y);
long sys_input_open(void);
long sys_input_read(struct demo_input_event *ev, uint32_t max, uint64_t timeout_ms);
long sys_memfill_map(uint64_t offset, uint64_t max);

/* Output is buffered and written a line at a time: each write is a trip through the
 * (slowly emulated) kernel. */
__attribute__((format(printf, 1, 2))) void uprintf(const char *fmt, ...);
void uvprintf(const char *fmt, va_list ap);
void uflush(void);
/* snprintf's contract: always NUL-terminates (cap > 0), returns the untruncated length. */
__attribute__((format(printf, 3, 4))) int usnprintf(char *buf, size_t cap, const char *fmt, ...);
/* Flush, then exit or idle. */
__attribute__((noreturn)) void uexit(int code);
__attribute__((noreturn)) void uidle(void);

#endif
