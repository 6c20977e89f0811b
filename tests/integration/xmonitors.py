#!/usr/bin/env python3
"""xmonitors.py: splits an X screen into RandR monitors (what `xrandr --setmonitor` does), so
that a client on one big Xvfb screen sees several monitors: xmonitors.py WxH+X+Y ... with
DISPLAY set; the first is primary and takes the screen's output. Calls libXrandr through
ctypes: the xrandr tool is not needed. Exit 0, or 1 with a reason on stderr."""
import ctypes
import ctypes.util
import re
import sys


class MonitorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_ulong), ("primary", ctypes.c_int), ("automatic", ctypes.c_int),
                ("noutput", ctypes.c_int), ("x", ctypes.c_int), ("y", ctypes.c_int),
                ("width", ctypes.c_int), ("height", ctypes.c_int), ("mwidth", ctypes.c_int),
                ("mheight", ctypes.c_int), ("outputs", ctypes.POINTER(ctypes.c_ulong))]


class ScreenResources(ctypes.Structure):
    _fields_ = [("timestamp", ctypes.c_ulong), ("configTimestamp", ctypes.c_ulong),
                ("ncrtc", ctypes.c_int), ("crtcs", ctypes.POINTER(ctypes.c_ulong)),
                ("noutput", ctypes.c_int), ("outputs", ctypes.POINTER(ctypes.c_ulong))]


def main():
    shapes = []
    for a in sys.argv[1:]:
        m = re.fullmatch(r"(\d+)x(\d+)\+(\d+)\+(\d+)", a)
        if not m:
            print(f"xmonitors: '{a}' is not WxH+X+Y", file=sys.stderr)
            return 1
        shapes.append(tuple(int(v) for v in m.groups()))
    if not shapes:
        print("usage: xmonitors.py WxH+X+Y ...", file=sys.stderr)
        return 1
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    xrr = ctypes.CDLL(ctypes.util.find_library("Xrandr") or "libXrandr.so.2")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xrr.XRRGetScreenResources.restype = ctypes.POINTER(ScreenResources)
    xrr.XRRGetScreenResources.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    xrr.XRRSetMonitor.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(MonitorInfo)]
    dpy = x11.XOpenDisplay(None)
    if not dpy:
        print("xmonitors: cannot open the display", file=sys.stderr)
        return 1
    root = x11.XDefaultRootWindow(dpy)
    res = xrr.XRRGetScreenResources(dpy, root)
    if not res or res.contents.noutput < 1:
        print("xmonitors: the screen has no RandR output", file=sys.stderr)
        return 1
    out = (ctypes.c_ulong * 1)(res.contents.outputs[0])
    for i, (w, h, x, y) in enumerate(shapes):
        info = MonitorInfo()
        info.name = x11.XInternAtom(dpy, f"HD{i}".encode(), 0)
        info.primary = 1 if i == 0 else 0
        info.automatic = 0
        info.x, info.y, info.width, info.height = x, y, w, h
        info.mwidth, info.mheight = w * 254 // 960, h * 254 // 960  # 96 dpi
        info.noutput = 1 if i == 0 else 0
        info.outputs = out if i == 0 else None
        xrr.XRRSetMonitor(dpy, root, ctypes.byref(info))
    x11.XSync(dpy, 0)
    x11.XCloseDisplay(dpy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
