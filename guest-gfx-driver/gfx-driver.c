/* gfx-driver.c: the virtio-gpu driver: probe and feature negotiation, display info and EDID,
 * resources, scanouts, flushes and the cursor. Not a renderer: pixels are the caller's. */
#include "gfx-driver.h"
#include "virtq.h"

/*
 * Every instruction here runs emulated on the development host (about a microsecond each)
 * and every register access is a VM exit, so commands are built in place in static buffers
 * (no copies), several go to the device with one notify where they belong together, and
 * nothing is re-read that the driver already knows.
 */

#define CMD_SLOTS 8
#define REQ_MAX	  (sizeof(struct vgpu_create_blob) + GFX_MAX_ENTRIES * sizeof(struct vgpu_mem_entry))
#define RESP_MAX  sizeof(struct vgpu_resp_edid)

struct cmd_slot {
	uint8_t req[REQ_MAX] __attribute__((aligned(16)));
	uint8_t resp[RESP_MAX] __attribute__((aligned(16)));
};

static struct vq_ring ctrl_ring, cursor_ring;
static struct virtq ctrlq, cursorq;
static int have_cursorq;
static struct cmd_slot slots[CMD_SLOTS];
static struct vq_cmd batch[CMD_SLOTS];
static unsigned batch_len;
static struct vgpu_cursor cursor_cmd;

static void zero(void *p, uint64_t n)
{
	asm volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(0) : "memory");
}

/* Starts the next command of the batch: a zeroed request of len bytes with its type set,
 * and a response buffer whose type is cleared so a device that writes nothing is noticed. */
static void *cmd_add(uint32_t type, uint32_t len, uint32_t resp_len)
{
	struct cmd_slot *s = &slots[batch_len];
	struct vgpu_hdr *h = (struct vgpu_hdr *)s->req;

	zero(s->req, len);
	h->type = type;
	((struct vgpu_hdr *)s->resp)->type = 0;
	batch[batch_len].req = s->req;
	batch[batch_len].req_len = len;
	batch[batch_len].resp = s->resp;
	batch[batch_len].resp_len = resp_len;
	batch_len++;
	return s->req;
}

static int resp_error(uint32_t type)
{
	switch (type) {
	case VGPU_RESP_OK_NODATA:
	case VGPU_RESP_OK_DISPLAY_INFO:
	case VGPU_RESP_OK_EDID:
		return 0;
	case VGPU_RESP_ERR_OUT_OF_MEMORY:
		return -GFX_ENOMEM;
	case VGPU_RESP_ERR_INVALID_SCANOUT_ID:
	case VGPU_RESP_ERR_INVALID_RESOURCE_ID:
	case VGPU_RESP_ERR_INVALID_PARAMETER:
		return -GFX_EINVAL;
	default:
		return -GFX_EIO; /* ERR_UNSPEC, or nothing written at all */
	}
}

/* Sends the batch and returns the first command's error, or 0. The batch is empty after. */
static int batch_run(struct gfx_dev *dev)
{
	unsigned n = batch_len;
	int r;

	batch_len = 0;
	if (dev->broken)
		return -GFX_EIO;
	r = vq_run(&ctrlq, batch, n);
	if (r == -GFX_ETIMEDOUT)
		dev->broken = 1;
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		r = resp_error(((struct vgpu_hdr *)slots[i].resp)->type);
		if (r < 0)
			return r;
	}
	return 0;
}

static uint32_t cfg_read(struct gfx_dev *dev, uint32_t off)
{
	return mmio_read32(dev->mmio, VMMIO_CONFIG + off);
}

/* ---------------------------------- probe ---------------------------------- */

static int negotiate(struct gfx_dev *dev, unsigned flags)
{
	uintptr_t m = dev->mmio;
	uint64_t offered, want = VIRTIO_F_VERSION_1 | VGPU_F_EDID | VGPU_F_RESOURCE_BLOB;
	uint32_t status = VSTAT_ACK | VSTAT_DRIVER;

	if (flags & GFX_PROBE_NO_BLOB)
		want &= ~VGPU_F_RESOURCE_BLOB;
	mmio_write32(m, VMMIO_DEVICE_FEAT_SEL, 1);
	offered = (uint64_t)mmio_read32(m, VMMIO_DEVICE_FEATURES) << 32;
	mmio_write32(m, VMMIO_DEVICE_FEAT_SEL, 0);
	offered |= mmio_read32(m, VMMIO_DEVICE_FEATURES);
	dev->features = offered & want;
	if (!(dev->features & VIRTIO_F_VERSION_1))
		return -GFX_ENODEV;

	mmio_write32(m, VMMIO_DRIVER_FEAT_SEL, 1);
	mmio_write32(m, VMMIO_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
	mmio_write32(m, VMMIO_DRIVER_FEAT_SEL, 0);
	mmio_write32(m, VMMIO_DRIVER_FEATURES, (uint32_t)dev->features);
	status |= VSTAT_FEATURES_OK;
	mmio_write32(m, VMMIO_STATUS, status);
	if (!(mmio_read32(m, VMMIO_STATUS) & VSTAT_FEATURES_OK))
		return -GFX_EIO;
	dev->blob = !!(dev->features & VGPU_F_RESOURCE_BLOB);
	dev->edid = !!(dev->features & VGPU_F_EDID);
	return 0;
}

int gfx_probe(struct gfx_dev *dev, const struct hv_boot_info *bi, unsigned flags)
{
	uint32_t n = bi->device_count < HV_BOOT_MAX_DEV ? bi->device_count : HV_BOOT_MAX_DEV;
	const struct hv_boot_device *d = NULL;
	uintptr_t m;
	int r;

	zero(dev, sizeof(*dev));
	for (uint32_t i = 0; i < n && !d; i++)
		if (bi->devices[i].virtio_id == VIRTIO_ID_GPU && bi->devices[i].size >= 0x200)
			d = &bi->devices[i];
	if (!d)
		return -GFX_ENODEV;
	dev->mmio = m = (uintptr_t)d->base;
	dev->gsi = d->irq;
	if (mmio_read32(m, VMMIO_MAGIC) != VMMIO_MAGIC_VALUE || mmio_read32(m, VMMIO_VERSION) != 2 ||
	    mmio_read32(m, VMMIO_DEVICE_ID) != VIRTIO_ID_GPU)
		return -GFX_ENODEV;

	/* §3.1.1: reset, acknowledge, negotiate, set up queues, then DRIVER_OK. */
	mmio_write32(m, VMMIO_STATUS, 0);
	for (unsigned spins = 1000; mmio_read32(m, VMMIO_STATUS) && spins; spins--)
		asm volatile("pause");
	mmio_write32(m, VMMIO_STATUS, VSTAT_ACK);
	mmio_write32(m, VMMIO_STATUS, VSTAT_ACK | VSTAT_DRIVER);
	r = negotiate(dev, flags);
	if (r == 0)
		r = vq_setup(&ctrlq, &ctrl_ring, m, 0);
	if (r < 0) {
		mmio_write32(m, VMMIO_STATUS, VSTAT_FAILED);
		return r;
	}
	/* A device without a cursor queue still shows pictures. */
	have_cursorq = vq_setup(&cursorq, &cursor_ring, m, 1) == 0;
	mmio_write32(m, VMMIO_STATUS, VSTAT_ACK | VSTAT_DRIVER | VSTAT_FEATURES_OK | VSTAT_DRIVER_OK);

	dev->num_scanouts = cfg_read(dev, VGPU_CFG_NUM_SCANOUTS);
	if (dev->num_scanouts > GFX_MAX_HEADS)
		dev->num_scanouts = GFX_MAX_HEADS;
	if (!dev->num_scanouts) {
		mmio_write32(m, VMMIO_STATUS, VSTAT_FAILED);
		return -GFX_EIO;
	}
	/* Events from before we looked are covered by the display query below. */
	r = (int)cfg_read(dev, VGPU_CFG_EVENTS_READ);
	if (r)
		mmio_write32(m, VMMIO_CONFIG + VGPU_CFG_EVENTS_CLEAR, (uint32_t)r);
	return gfx_refresh_displays(dev);
}

/* ------------------------------ displays ------------------------------ */

int gfx_edid_size_mm(const uint8_t *e, uint32_t len, uint32_t *w_mm, uint32_t *h_mm)
{
	static const uint8_t magic[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
	uint8_t sum = 0;

	if (len < 128)
		return -GFX_EINVAL;
	for (unsigned i = 0; i < 8; i++)
		if (e[i] != magic[i])
			return -GFX_EINVAL;
	for (unsigned i = 0; i < 128; i++)
		sum = (uint8_t)(sum + e[i]);
	if (sum)
		return -GFX_EINVAL;
	/* The first detailed timing (bytes 54..71) is the preferred mode when its pixel clock
	 * is set; bytes 66-68 hold its image size in mm, more precise than the cm at 21/22. */
	if (e[54] | e[55]) {
		*w_mm = e[66] | (uint32_t)(e[68] >> 4) << 8;
		*h_mm = e[67] | (uint32_t)(e[68] & 0xf) << 8;
	} else {
		*w_mm = e[21] * 10u;
		*h_mm = e[22] * 10u;
	}
	return 0;
}

uint32_t gfx_edid_bpc(const uint8_t *e)
{
	uint32_t v = (e[20] >> 4) & 7;

	/* Byte 20: bit 7 digital; bits 6-4 001..110 = 6, 8, ... 16 bits per colour. */
	if (!(e[20] & 0x80) || e[18] != 1 || e[19] < 4 || v == 0 || v == 7)
		return 0;
	return 4 + 2 * v;
}

int gfx_refresh_displays(struct gfx_dev *dev)
{
	const struct vgpu_resp_display_info *di;
	unsigned heads[CMD_SLOTS], n = 0;
	int r;

	cmd_add(VGPU_CMD_GET_DISPLAY_INFO, sizeof(struct vgpu_hdr),
		sizeof(struct vgpu_resp_display_info));
	r = batch_run(dev);
	if (r < 0)
		return r;
	di = (const struct vgpu_resp_display_info *)slots[0].resp;
	for (unsigned i = 0; i < dev->num_scanouts; i++) {
		struct gfx_head *h = &dev->heads[i];
		const struct vgpu_display_one *p = &di->pmodes[i];

		h->enabled = p->enabled && p->r.width && p->r.height;
		h->x = p->r.x;
		h->y = p->r.y;
		h->width = p->r.width;
		h->height = p->r.height;
		h->flags = p->flags;
		h->mm_width = h->mm_height = 0;
		h->bpc = 0;
	}
	if (!dev->edid)
		return 0;

	/* One batch of EDID queries for the enabled heads (CMD_SLOTS at a time). */
	for (unsigned i = 0; i <= dev->num_scanouts; i++) {
		if (i < dev->num_scanouts && dev->heads[i].enabled) {
			struct vgpu_get_edid *c = cmd_add(VGPU_CMD_GET_EDID, sizeof(*c),
							  sizeof(struct vgpu_resp_edid));
			c->scanout = i;
			heads[n++] = i;
		}
		if (n && (n == CMD_SLOTS || i == dev->num_scanouts)) {
			/* A head without EDID keeps mm 0 ("unknown"); that is not an error. */
			if (vq_run(&ctrlq, batch, n) < 0) {
				batch_len = 0;
				return -GFX_EIO;
			}
			batch_len = 0;
			for (unsigned k = 0; k < n; k++) {
				const struct vgpu_resp_edid *e = (const void *)slots[k].resp;
				struct gfx_head *h = &dev->heads[heads[k]];

				if (e->hdr.type == VGPU_RESP_OK_EDID &&
				    gfx_edid_size_mm(e->edid, e->size < 1024 ? e->size : 1024,
						     &h->mm_width, &h->mm_height) == 0)
					h->bpc = gfx_edid_bpc(e->edid);
			}
			n = 0;
		}
	}
	return 0;
}

void gfx_irq(struct gfx_dev *dev)
{
	uint32_t isr, ev;

	if (!dev->mmio)
		return;
	isr = mmio_read32(dev->mmio, VMMIO_INT_STATUS);
	if (!isr)
		return;
	/* Level-triggered: the line drops once every bit we saw is acknowledged. */
	mmio_write32(dev->mmio, VMMIO_INT_ACK, isr);
	dev->irq_count++;
	if (isr & VINT_CONFIG) {
		ev = cfg_read(dev, VGPU_CFG_EVENTS_READ);
		if (ev) {
			mmio_write32(dev->mmio, VMMIO_CONFIG + VGPU_CFG_EVENTS_CLEAR, ev);
			dev->events |= ev;
		}
		if (mmio_read32(dev->mmio, VMMIO_STATUS) & VSTAT_NEEDS_RESET)
			dev->broken = 1;
	}
}

/* ------------------------------ resources ------------------------------ */

static void put_entries(struct vgpu_mem_entry *dst, const struct gfx_mem_entry *src, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		dst[i].addr = src[i].addr;
		dst[i].length = src[i].length;
	}
}

int gfx_resource_create(struct gfx_dev *dev, uint32_t id, uint32_t width, uint32_t height,
			uint32_t format, const struct gfx_mem_entry *ents, unsigned n, int blob)
{
	if (!id || !n || n > GFX_MAX_ENTRIES || (blob && !dev->blob))
		return -GFX_EINVAL;
	if (format != GFX_FORMAT_ARGB && format != GFX_FORMAT_XRGB)
		return -GFX_EINVAL;
	if (blob) {
		struct vgpu_create_blob *c =
		    cmd_add(VGPU_CMD_RESOURCE_CREATE_BLOB,
			    sizeof(*c) + n * sizeof(struct vgpu_mem_entry), sizeof(struct vgpu_hdr));
		uint64_t size = 0;

		for (unsigned i = 0; i < n; i++)
			size += ents[i].length;
		c->resource_id = id;
		c->blob_mem = VGPU_BLOB_MEM_GUEST;
		/* What Linux asks for with guest-memory scanout buffers; devices modelled on it
		 * may insist. */
		c->blob_flags = 2; /* USE_SHAREABLE */
		c->nr_entries = n;
		c->size = size;
		put_entries((struct vgpu_mem_entry *)(c + 1), ents, n);
	} else {
		struct vgpu_create_2d *c =
		    cmd_add(VGPU_CMD_RESOURCE_CREATE_2D, sizeof(*c), sizeof(struct vgpu_hdr));
		struct vgpu_attach_backing *a;

		c->resource_id = id;
		c->format = format;
		c->width = width;
		c->height = height;
		a = cmd_add(VGPU_CMD_RESOURCE_ATTACH_BACKING,
			    sizeof(*a) + n * sizeof(struct vgpu_mem_entry), sizeof(struct vgpu_hdr));
		a->resource_id = id;
		a->nr_entries = n;
		put_entries((struct vgpu_mem_entry *)(a + 1), ents, n);
	}
	return batch_run(dev);
}

int gfx_resource_destroy(struct gfx_dev *dev, uint32_t id, int blob)
{
	struct vgpu_resource_only *c;

	/* A 2D resource gives its backing back first, so the device has certainly stopped
	 * reading that memory when this returns and the caller frees it. */
	if (!blob) {
		c = cmd_add(VGPU_CMD_RESOURCE_DETACH_BACKING, sizeof(*c), sizeof(struct vgpu_hdr));
		c->resource_id = id;
	}
	c = cmd_add(VGPU_CMD_RESOURCE_UNREF, sizeof(*c), sizeof(struct vgpu_hdr));
	c->resource_id = id;
	return batch_run(dev);
}

int gfx_set_scanout(struct gfx_dev *dev, uint32_t head, uint32_t id, uint32_t width,
		    uint32_t height, int blob)
{
	if (head >= dev->num_scanouts)
		return -GFX_EINVAL;
	if (blob && id) {
		struct vgpu_set_scanout_blob *c =
		    cmd_add(VGPU_CMD_SET_SCANOUT_BLOB, sizeof(*c), sizeof(struct vgpu_hdr));

		c->r.width = width;
		c->r.height = height;
		c->scanout_id = head;
		c->resource_id = id;
		c->width = width;
		c->height = height;
		c->format = VGPU_FORMAT_B8G8R8X8;
		c->strides[0] = width * 4;
	} else {
		struct vgpu_set_scanout *c =
		    cmd_add(VGPU_CMD_SET_SCANOUT, sizeof(*c), sizeof(struct vgpu_hdr));

		if (id) {
			c->r.width = width;
			c->r.height = height;
		}
		c->scanout_id = head;
		c->resource_id = id;
	}
	return batch_run(dev);
}

static void add_transfer(uint32_t id, uint32_t stride, uint32_t x, uint32_t y, uint32_t w,
			 uint32_t h)
{
	struct vgpu_transfer_2d *t =
	    cmd_add(VGPU_CMD_TRANSFER_TO_HOST_2D, sizeof(*t), sizeof(struct vgpu_hdr));

	t->r.x = x;
	t->r.y = y;
	t->r.width = w;
	t->r.height = h;
	/* Where the rectangle starts in the backing; the device steps rows by the
	 * resource's own width. */
	t->offset = (uint64_t)y * stride + (uint64_t)x * 4;
	t->resource_id = id;
}

int gfx_flush(struct gfx_dev *dev, uint32_t id, uint32_t res_width, uint32_t x, uint32_t y,
	      uint32_t w, uint32_t h, int blob)
{
	struct vgpu_flush *f;

	/* 2D: copy then flush, one notify for both. */
	if (!blob)
		add_transfer(id, res_width * 4, x, y, w, h);
	f = cmd_add(VGPU_CMD_RESOURCE_FLUSH, sizeof(*f), sizeof(struct vgpu_hdr));
	f->r.x = x;
	f->r.y = y;
	f->r.width = w;
	f->r.height = h;
	f->resource_id = id;
	return batch_run(dev);
}

int gfx_transfer(struct gfx_dev *dev, uint32_t id, uint32_t x, uint32_t y, uint32_t w,
		 uint32_t h)
{
	add_transfer(id, 64 * 4, x, y, w, h);
	return batch_run(dev);
}

/* -------------------------------- cursor -------------------------------- */

static int cursor_send(struct gfx_dev *dev, uint32_t type, uint32_t head, uint32_t id,
		       uint32_t x, uint32_t y, uint32_t hot_x, uint32_t hot_y)
{
	struct vq_cmd c = {&cursor_cmd, sizeof(cursor_cmd), 0, 0};

	if (!have_cursorq || dev->broken)
		return -GFX_ENOTSUP;
	if (head >= dev->num_scanouts)
		return -GFX_EINVAL;
	zero(&cursor_cmd, sizeof(cursor_cmd));
	cursor_cmd.hdr.type = type;
	cursor_cmd.scanout_id = head;
	cursor_cmd.x = x;
	cursor_cmd.y = y;
	cursor_cmd.resource_id = id;
	cursor_cmd.hot_x = hot_x;
	cursor_cmd.hot_y = hot_y;
	/* The cursor queue has no responses; waiting for the used entry only frees the
	 * descriptor for the next update. */
	return vq_run(&cursorq, &c, 1);
}

int gfx_cursor_update(struct gfx_dev *dev, uint32_t head, uint32_t id, uint32_t x, uint32_t y,
		      uint32_t hot_x, uint32_t hot_y)
{
	return cursor_send(dev, VGPU_CMD_UPDATE_CURSOR, head, id, x, y, hot_x, hot_y);
}

int gfx_cursor_move(struct gfx_dev *dev, uint32_t head, uint32_t x, uint32_t y)
{
	return cursor_send(dev, VGPU_CMD_MOVE_CURSOR, head, 0, x, y, 0, 0);
}
