/* device.c: the virtual GPU as a virtio device: creation, config space, the two queues
 * processed synchronously on the notifying vCPU, request decoding, responses and fences.
 * Not the commands on resources (resource.c) or scanouts (scanout.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-channel.h"
#include "vgpu-internal.h"

/* Chains handled per notify: a guest that refills the ring from another vCPU while we work
 * gets its own notify processed next, so stopping here loses nothing and bounds the time the
 * lock is held. */
#define VGPU_BATCH_MAX 1024

static const char *cmd_name(uint32_t type)
{
	switch (type) {
	case VGPU_CMD_GET_DISPLAY_INFO:
		return "GET_DISPLAY_INFO";
	case VGPU_CMD_RESOURCE_CREATE_2D:
		return "RESOURCE_CREATE_2D";
	case VGPU_CMD_RESOURCE_UNREF:
		return "RESOURCE_UNREF";
	case VGPU_CMD_SET_SCANOUT:
		return "SET_SCANOUT";
	case VGPU_CMD_RESOURCE_FLUSH:
		return "RESOURCE_FLUSH";
	case VGPU_CMD_TRANSFER_TO_HOST_2D:
		return "TRANSFER_TO_HOST_2D";
	case VGPU_CMD_RESOURCE_ATTACH_BACKING:
		return "RESOURCE_ATTACH_BACKING";
	case VGPU_CMD_RESOURCE_DETACH_BACKING:
		return "RESOURCE_DETACH_BACKING";
	case VGPU_CMD_GET_EDID:
		return "GET_EDID";
	case VGPU_CMD_RESOURCE_CREATE_BLOB:
		return "RESOURCE_CREATE_BLOB";
	case VGPU_CMD_SET_SCANOUT_BLOB:
		return "SET_SCANOUT_BLOB";
	case VGPU_CMD_UPDATE_CURSOR:
		return "UPDATE_CURSOR";
	case VGPU_CMD_MOVE_CURSOR:
		return "MOVE_CURSOR";
	default:
		return "unknown";
	}
}

/* Bytes a successful answer to type takes; a response buffer smaller than this means the
 * command is not run at all, since the driver could not learn what it did. */
static size_t resp_size(uint32_t type)
{
	switch (type) {
	case VGPU_CMD_GET_DISPLAY_INFO:
		return sizeof(struct vgpu_resp_display_info);
	case VGPU_CMD_GET_EDID:
		return sizeof(struct vgpu_resp_edid);
	default:
		return sizeof(struct vgpu_ctrl_hdr);
	}
}

static uint32_t cmd_display_info(struct vgpu *g, uint8_t *resp, size_t *resp_len)
{
	struct vgpu_resp_display_info *di = (struct vgpu_resp_display_info *)resp;

	memset(di, 0, sizeof(*di));
	for (unsigned i = 0; i < g->nr_heads; i++) {
		const struct vgpu_head *h = &g->heads[i];
		if (!h->enabled)
			continue;
		di->pmodes[i].r.width = htole32(h->req_width);
		di->pmodes[i].r.height = htole32(h->req_height);
		di->pmodes[i].enabled = htole32(1);
	}
	*resp_len = sizeof(*di);
	return VGPU_RESP_OK_DISPLAY_INFO;
}

static uint32_t cmd_get_edid(struct vgpu *g, const uint8_t *req, size_t len, uint8_t *resp,
			     size_t *resp_len)
{
	struct vgpu_get_edid c;
	struct vgpu_resp_edid *re = (struct vgpu_resp_edid *)resp;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	uint32_t head = vgpu_le32(c.scanout);
	if (head >= g->nr_heads)
		return VGPU_RESP_ERR_INVALID_SCANOUT_ID;
	const struct vgpu_head *h = &g->heads[head];
	memset(re, 0, sizeof(*re));
	vgpu_edid_build(re->edid, head, h->req_width, h->req_height, h->width_mm, h->height_mm,
			hd_chan_depth_bpc(h->depth));
	re->size = htole32(128);
	*resp_len = sizeof(*re);
	return VGPU_RESP_OK_EDID;
}

/* Runs one control-queue command; data responses are written to resp past the header. */
static uint32_t ctrl_dispatch(struct vgpu *g, uint32_t type, const uint8_t *req, size_t len,
			      uint8_t *resp, size_t *resp_len)
{
	switch (type) {
	case VGPU_CMD_GET_DISPLAY_INFO:
		return cmd_display_info(g, resp, resp_len);
	case VGPU_CMD_GET_EDID:
		return cmd_get_edid(g, req, len, resp, resp_len);
	case VGPU_CMD_RESOURCE_CREATE_2D:
		return vgpu_cmd_create_2d(g, req, len);
	case VGPU_CMD_RESOURCE_UNREF:
		return vgpu_cmd_unref(g, req, len);
	case VGPU_CMD_SET_SCANOUT:
		return vgpu_cmd_set_scanout(g, req, len);
	case VGPU_CMD_RESOURCE_FLUSH:
		return vgpu_cmd_flush(g, req, len);
	case VGPU_CMD_TRANSFER_TO_HOST_2D:
		return vgpu_cmd_transfer_2d(g, req, len);
	case VGPU_CMD_RESOURCE_ATTACH_BACKING:
		return vgpu_cmd_attach_backing(g, req, len);
	case VGPU_CMD_RESOURCE_DETACH_BACKING:
		return vgpu_cmd_detach_backing(g, req, len);
	case VGPU_CMD_RESOURCE_CREATE_BLOB:
		return vgpu_cmd_create_blob(g, req, len);
	case VGPU_CMD_SET_SCANOUT_BLOB:
		return vgpu_cmd_set_scanout_blob(g, req, len);
	case VGPU_CMD_GET_CAPSET_INFO:
	case VGPU_CMD_GET_CAPSET:
		/* num_capsets is 0: no index or id can be valid. */
		return VGPU_RESP_ERR_INVALID_PARAMETER;
	case VGPU_CMD_CTX_DESTROY:
	case VGPU_CMD_CTX_ATTACH_RESOURCE:
	case VGPU_CMD_CTX_DETACH_RESOURCE:
	case VGPU_CMD_TRANSFER_TO_HOST_3D:
	case VGPU_CMD_TRANSFER_FROM_HOST_3D:
	case VGPU_CMD_SUBMIT_3D:
		/* They name a 3D context, and without VIRGL none can exist. */
		return VGPU_RESP_ERR_INVALID_CONTEXT_ID;
	default:
		/* CTX_CREATE, CREATE_3D, blob mapping, UUIDs, cursor commands on the wrong queue
		 * and anything unknown: not supported. */
		return VGPU_RESP_ERR_UNSPEC;
	}
}

/* The common path of both queues. Called with the lock held. */
static size_t process(struct vgpu *g, bool cursor, const uint8_t *req, size_t len, uint8_t *resp,
		      size_t cap)
{
	struct vgpu_ctrl_hdr in = {0}, *out = (struct vgpu_ctrl_hdr *)resp;
	size_t resp_len = sizeof(*out);
	uint32_t type = 0, code;
	bool room = cap >= sizeof(*out);

	g->commands++;
	if (len >= sizeof(in)) {
		memcpy(&in, req, sizeof(in));
		type = vgpu_le32(in.type);
	}
	if (len < sizeof(in)) {
		code = VGPU_RESP_ERR_UNSPEC;
	} else if (cursor) {
		/* The cursor queue usually has no response buffer at all: run it anyway. */
		if (type == VGPU_CMD_UPDATE_CURSOR || type == VGPU_CMD_MOVE_CURSOR)
			code = vgpu_cmd_update_cursor(g, req, len, type == VGPU_CMD_MOVE_CURSOR);
		else
			code = VGPU_RESP_ERR_UNSPEC;
	} else if (cap < resp_size(type)) {
		code = VGPU_RESP_ERR_UNSPEC;
	} else {
		code = ctrl_dispatch(g, type, req, len, resp, &resp_len);
	}
	if (code >= VGPU_RESP_ERR_UNSPEC) {
		g->errors++;
		resp_len = sizeof(*out);
		hd_debug(VGPU_TAG, "%s queue: %s (%#x): error %#x", cursor ? "cursor" : "control",
			 cmd_name(type), type, code);
	}
	if (!room)
		return 0;
	if (resp_len > cap)
		resp_len = sizeof(*out);

	/* §5.7.6.7: a fenced request is answered with the same fence id and context; since
	 * everything completes before it is answered, the fence is already signalled. */
	memset(out, 0, sizeof(*out));
	out->type = htole32(code);
	if (vgpu_le32(in.flags) & VGPU_FLAG_FENCE) {
		uint32_t flags = vgpu_le32(in.flags) & (VGPU_FLAG_FENCE | VGPU_FLAG_INFO_RING_IDX);
		out->flags = htole32(flags);
		out->fence_id = in.fence_id;
		out->ctx_id = in.ctx_id;
		if (flags & VGPU_FLAG_INFO_RING_IDX)
			out->ring_idx = in.ring_idx;
	}
	return resp_len;
}

size_t vgpu_ctrl_request(struct vgpu *g, const void *req, size_t len, void *resp, size_t cap)
{
	pthread_mutex_lock(&g->lock);
	size_t n = process(g, false, req, len, resp, cap);
	pthread_mutex_unlock(&g->lock);
	return n;
}

size_t vgpu_cursor_request(struct vgpu *g, const void *req, size_t len, void *resp, size_t cap)
{
	pthread_mutex_lock(&g->lock);
	size_t n = process(g, true, req, len, resp, cap);
	pthread_mutex_unlock(&g->lock);
	return n;
}

/* Runs on the vCPU thread of the guest's QueueNotify write: by the time that write returns,
 * every answer is on the used ring, so the driver never has to poll (guest code is slow
 * here). */
static void vgpu_queue_notify(void *opaque, struct hv_virtqueue *vq)
{
	struct vgpu *g = opaque;
	bool pushed = false;

	if (vq->index != VGPU_QUEUE_CTRL && vq->index != VGPU_QUEUE_CURSOR)
		return;
	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < VGPU_BATCH_MAX; i++) {
		struct hv_vq_elem *e = &g->elem;
		if (hv_vq_pop(vq, e) != 1)
			break;
		/* Copy the request out first: the guest can rewrite its buffer while we work. */
		size_t want = e->out_bytes < VGPU_REQ_MAX ? (size_t)e->out_bytes : VGPU_REQ_MAX;
		size_t len = want ? hv_vq_elem_read(e, 0, g->req, want) : 0;
		size_t cap = e->in_bytes < VGPU_RESP_MAX ? (size_t)e->in_bytes : VGPU_RESP_MAX;
		size_t n = process(g, vq->index == VGPU_QUEUE_CURSOR, g->req, len, g->resp, cap);
		size_t written = n ? hv_vq_elem_write(e, 0, g->resp, n) : 0;
		if (hv_vq_push(vq, e, (uint32_t)written) < 0)
			break;
		pushed = true;
	}
	if (pushed)
		hv_vq_notify(vq);
	pthread_mutex_unlock(&g->lock);
}

/* §5.7.4: events_read and num_scanouts are read-only; a write to events_clear clears those
 * bits of events_read. */
static void config_bytes(struct vgpu *g, uint8_t out[16])
{
	struct vgpu_wire_config c = {
	    .events_read = htole32(g->events_read),
	    .events_clear = 0,
	    .num_scanouts = htole32(g->nr_heads),
	    .num_capsets = 0,
	};
	memcpy(out, &c, sizeof(c));
}

static void vgpu_config_read(void *opaque, uint32_t offset, void *data, uint32_t len)
{
	struct vgpu *g = opaque;
	uint8_t c[sizeof(struct vgpu_wire_config)];

	pthread_mutex_lock(&g->lock);
	config_bytes(g, c);
	pthread_mutex_unlock(&g->lock);
	if (offset < sizeof(c) && len <= sizeof(c) - offset)
		memcpy(data, c + offset, len);
}

static void vgpu_config_write(void *opaque, uint32_t offset, const void *data, uint32_t len)
{
	struct vgpu *g = opaque;
	uint8_t c[sizeof(struct vgpu_wire_config)];
	const uint32_t clear_off = offsetof(struct vgpu_wire_config, events_clear);
	uint32_t clear;

	if (offset >= sizeof(c) || len > sizeof(c) - offset)
		return;
	pthread_mutex_lock(&g->lock);
	config_bytes(g, c);
	memcpy(c + offset, data, len);
	if (offset < clear_off + 4 && offset + len > clear_off) {
		memcpy(&clear, c + clear_off, 4);
		g->events_read &= ~vgpu_le32(clear);
	}
	pthread_mutex_unlock(&g->lock);
}

void vgpu_reset(struct vgpu *g)
{
	pthread_mutex_lock(&g->lock);
	vgpu_heads_reset(g);
	vgpu_res_destroy_all(g);
	g->events_read = 0;
	pthread_mutex_unlock(&g->lock);
}

/* The transport stopped the queues before this; taking the lock waits out a request still
 * being processed on another vCPU. */
static void vgpu_virtio_reset(void *opaque)
{
	vgpu_reset(opaque);
}

static const struct hv_virtio_dev_ops vgpu_ops = {
    .device_id = VGPU_VIRTIO_ID,
    .features = (1ull << VGPU_F_EDID) | (1ull << VGPU_F_RESOURCE_BLOB) | HV_VIRTIO_F_INDIRECT |
		HV_VIRTIO_F_EVENT_IDX,
    .num_queues = 2,
    .queue_max_size = 256,
    .config_size = sizeof(struct vgpu_wire_config),
    .config_read = vgpu_config_read,
    .config_write = vgpu_config_write,
    .queue_notify = vgpu_queue_notify,
    .reset = vgpu_virtio_reset,
};

const struct hv_virtio_dev_ops *vgpu_virtio_ops(void)
{
	return &vgpu_ops;
}

void vgpu_set_transport(struct vgpu *g, struct hv_virtio_mmio *t)
{
	pthread_mutex_lock(&g->lock);
	g->transport = t;
	pthread_mutex_unlock(&g->lock);
}

int vgpu_new(const struct vgpu_config *cfg, struct hv_mem *mem, struct vgpu **out)
{
	if (!cfg || !mem || cfg->heads < 1 || cfg->heads > VGPU_MAX_HEADS)
		return -EINVAL;
	struct vgpu *g = hd_xzalloc(sizeof(*g));
	int e = pthread_mutex_init(&g->lock, NULL);
	if (e) {
		free(g);
		return -e;
	}
	g->mem = mem;
	g->nr_heads = cfg->heads;
	g->mem_limit = cfg->memory_limit;
	g->req = hd_xmalloc(VGPU_REQ_MAX);
	for (unsigned i = 0; i < VGPU_MAX_HEADS; i++) {
		struct vgpu_head *h = &g->heads[i];
		h->enabled = i < g->nr_heads;
		h->req_width = VGPU_DEFAULT_WIDTH;
		h->req_height = VGPU_DEFAULT_HEIGHT;
		h->width_mm = vgpu_default_mm(VGPU_DEFAULT_WIDTH);
		h->height_mm = vgpu_default_mm(VGPU_DEFAULT_HEIGHT);
		h->fb_fd = -1;
	}
	*out = g;
	return 0;
}

int vgpu_create(struct hv_vm *vm, const struct vgpu_config *cfg, struct vgpu **out, char *err,
		size_t errlen)
{
	struct vgpu *g;
	struct hv_virtio_mmio *t;
	int r = vgpu_new(cfg, hv_vm_mem(vm), &g);

	if (r < 0) {
		snprintf(err, errlen, "GPU: %u heads is out of range (1 to %u)",
			 cfg ? cfg->heads : 0, VGPU_MAX_HEADS);
		return r;
	}
	r = hv_vm_add_virtio(vm, &vgpu_ops, g, &t);
	if (r < 0) {
		snprintf(err, errlen, "GPU: cannot add the virtio device: %s", strerror(-r));
		vgpu_destroy(g);
		return r;
	}
	vgpu_set_transport(g, t);
	r = vgpu_control_register(g, vm);
	if (r == 0)
		r = vgpu_persist_register(g, vm);
	if (r < 0) {
		/* The VM's transport and commands still point at g: the caller destroys the VM
		 * without running it, so nothing will use them. */
		snprintf(err, errlen, "GPU: cannot register control commands or snapshot state: %s", strerror(-r));
		vgpu_destroy(g);
		return r;
	}
	*out = g;
	return 0;
}

void vgpu_destroy(struct vgpu *g)
{
	if (!g)
		return;
	vgpu_heads_fini(g);
	vgpu_res_destroy_all(g);
	pthread_mutex_destroy(&g->lock);
	free(g->req);
	free(g);
}

void vgpu_set_listener(struct vgpu *g, const struct vgpu_listener *l)
{
	pthread_mutex_lock(&g->lock);
	if (l)
		g->listener = *l;
	else
		memset(&g->listener, 0, sizeof(g->listener));
	pthread_mutex_unlock(&g->lock);
}

unsigned vgpu_num_heads(const struct vgpu *g)
{
	return g->nr_heads;
}

void vgpu_get_stats(struct vgpu *g, struct vgpu_stats *out)
{
	pthread_mutex_lock(&g->lock);
	out->memory_used = g->mem_used;
	out->memory_limit = g->mem_limit;
	out->resources = g->nr_resources;
	out->commands = g->commands;
	out->errors = g->errors;
	pthread_mutex_unlock(&g->lock);
}
