/* control.c: the GPU's control socket commands: display-set, display-info and screendump.
 * Not the socket itself (hypervisor-core/control.c) nor the client (`hyperdesk ctl`). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hd-channel.h"
#include "vgpu-internal.h"

/* Argument i as an integer in [0, max], or false with a message in error. */
static bool arg_uint(const struct hd_json *args, size_t i, const char *what, uint32_t max,
		     uint32_t *out, struct hd_buf *error)
{
	const struct hd_json *v = args && i < args->count ? args->items[i] : NULL;

	if (!v || v->type != HD_JSON_NUMBER || v->number != floor(v->number) || v->number < 0 ||
	    v->number > max) {
		hd_buf_printf(error, "%s must be an integer from 0 to %u", what, max);
		return false;
	}
	*out = (uint32_t)v->number;
	return true;
}

static size_t nargs(const struct hd_json *args)
{
	return args ? args->count : 0;
}

static int cmd_display_set(struct hv_vm *vm, void *opaque, const struct hd_json *args,
			   struct hd_buf *result, struct hd_buf *error)
{
	struct vgpu *g = opaque;
	uint32_t head, w, h, wmm = 0, hmm = 0, depth = 0;
	size_t n = nargs(args);

	if (n != 3 && n != 5 && n != 6) {
		hd_buf_puts(error,
			    "usage: display-set HEAD WIDTH HEIGHT [WIDTH_MM HEIGHT_MM [DEPTH]]");
		return -1;
	}
	if (!arg_uint(args, 0, "HEAD", g->nr_heads - 1, &head, error) ||
	    !arg_uint(args, 1, "WIDTH", VGPU_MODE_MAX, &w, error) ||
	    !arg_uint(args, 2, "HEIGHT", VGPU_MODE_MAX, &h, error))
		return -1;
	if (n == 5 && (!arg_uint(args, 3, "WIDTH_MM", 4095, &wmm, error) ||
		       !arg_uint(args, 4, "HEIGHT_MM", 4095, &hmm, error)))
		return -1;
	if (n == 6 && (!arg_uint(args, 5, "DEPTH", 32, &depth, error)))
		return -1;
	if (!hd_chan_depth_ok(depth)) {
		hd_buf_printf(error, "DEPTH must be 0 (not known), 8, 15, 16, 24 or 32, not %u",
			      depth);
		return -1;
	}
	if (vgpu_display_set(g, head, w, h, wmm, hmm, depth) < 0) {
		hd_buf_printf(error,
			      "WIDTH and HEIGHT must both be 0 (disable the head) or from %u to %u",
			      VGPU_MODE_MIN, VGPU_MODE_MAX);
		return -1;
	}
	return 0;
}

static int cmd_display_info(struct hv_vm *vm, void *opaque, const struct hd_json *args,
			    struct hd_buf *result, struct hd_buf *error)
{
	struct vgpu *g = opaque;
	struct vgpu_stats st;

	if (nargs(args)) {
		hd_buf_puts(error, "this command takes no arguments");
		return -1;
	}
	vgpu_get_stats(g, &st);
	hd_buf_puts(result, "{\"heads\":[");
	for (unsigned i = 0; i < g->nr_heads; i++) {
		struct vgpu_head_info hi;
		vgpu_head_info(g, i, &hi);
		hd_buf_printf(result,
			      "%s{\"head\":%u,\"enabled\":%s,\"requested\":{\"width\":%u,"
			      "\"height\":%u,\"width_mm\":%u,\"height_mm\":%u,\"depth\":%u,"
			      "\"bpc\":%u},\"scanout\":",
			      i ? "," : "", i, hi.enabled ? "true" : "false", hi.req_width,
			      hi.req_height, hi.width_mm, hi.height_mm, hi.depth,
			      hd_chan_depth_bpc(hi.depth));
		if (hi.active)
			hd_buf_printf(result,
				      "{\"resource\":%u,\"width\":%u,\"height\":%u,\"format\":%u}",
				      hi.resource_id, hi.width, hi.height, hi.format);
		else
			hd_buf_puts(result, "null");
		hd_buf_printf(result, ",\"frames\":%llu}", (unsigned long long)hi.frame);
	}
	hd_buf_printf(result,
		      "],\"memory\":{\"used\":%llu,\"limit\":%llu},\"resources\":%u,"
		      "\"commands\":%llu,\"errors\":%llu}",
		      (unsigned long long)st.memory_used, (unsigned long long)st.memory_limit,
		      st.resources, (unsigned long long)st.commands, (unsigned long long)st.errors);
	return 0;
}

static int cmd_screendump(struct hv_vm *vm, void *opaque, const struct hd_json *args,
			  struct hd_buf *result, struct hd_buf *error)
{
	struct vgpu *g = opaque;
	uint32_t head;
	char err[256];

	if (nargs(args) != 2 || args->items[1]->type != HD_JSON_STRING ||
	    !args->items[1]->string[0]) {
		hd_buf_puts(error, "usage: screendump HEAD FILE.png");
		return -1;
	}
	if (!arg_uint(args, 0, "HEAD", g->nr_heads - 1, &head, error))
		return -1;
	if (vgpu_screendump(g, head, args->items[1]->string, err, sizeof(err)) < 0) {
		hd_buf_puts(error, err);
		return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	const char *usage;
	hv_control_fn fn;
} vgpu_cmds[] = {
    {"display-set",
     "display-set HEAD WIDTH HEIGHT [WIDTH_MM HEIGHT_MM [DEPTH]]: set a head's mode (0 0 "
     "disables it; sizes default to 96 DPI) and the viewer's bits a pixel",
     cmd_display_set},
    {"display-info",
     "display-info: per head the requested mode, scanout and frames; GPU memory use",
     cmd_display_info},
    {"screendump", "screendump HEAD FILE.png: write a head's picture as PNG", cmd_screendump},
};

int vgpu_control_register(struct vgpu *g, struct hv_vm *vm)
{
	for (size_t i = 0; i < HD_ARRAY_SIZE(vgpu_cmds); i++) {
		int r = hv_control_register(vm, vgpu_cmds[i].name, vgpu_cmds[i].usage,
					    vgpu_cmds[i].fn, g);
		if (r < 0)
			return r;
	}
	return 0;
}

int vgpu_control_exec(struct vgpu *g, const char *name, const struct hd_json *args,
		      struct hd_buf *result, struct hd_buf *error)
{
	for (size_t i = 0; i < HD_ARRAY_SIZE(vgpu_cmds); i++)
		if (!strcmp(vgpu_cmds[i].name, name))
			return vgpu_cmds[i].fn(NULL, g, args, result, error);
	hd_buf_printf(error, "unknown command %s", name);
	return -1;
}
