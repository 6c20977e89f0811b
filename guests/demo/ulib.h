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

/* Output is buffered and written a line at a time: each write is a trip through the
 * (slowly emulated) kernel. */
__attribute__((format(printf, 1, 2))) void uprintf(const char *fmt, ...);
void uvprintf(const char *fmt, va_list ap);
void uflush(void);
/* Flush, then exit or idle. */
__attribute__((noreturn)) void uexit(int code);
__attribute__((noreturn)) void uidle(void);

#endif
