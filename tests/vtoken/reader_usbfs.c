/* SPDX-License-Identifier: MIT */
/*
 * reader_usbfs.c — the emulated reader as the kernel's usbfs shows it to
 * libusb, through a umockdev testbed.
 *
 * The testbed holds one USB device (sysfs attributes incl. the binary
 * "descriptors", and the /dev/bus/usb/001/NNN node).  Programs run with
 * UMOCKDEV_DIR and libumockdev-preload.so see it with their ordinary
 * libusb; their ioctls on the node arrive here (on umockdev's thread) and
 * are answered like the kernel would:
 *
 *   SUBMITURB  bulk OUT (CCID commands, reassembled across URBs), bulk IN
 *              (waits for a response frame), interrupt IN (waits for a
 *              NotifySlotChange), control (standard GET_DESCRIPTOR etc.,
 *              the CCID class requests ABORT, GET_CLOCK_FREQUENCIES,
 *              GET_DATA_RATES; the 8-byte setup packet comes first)
 *   REAPURB(NDELAY), DISCARDURB, CLAIM/RELEASEINTERFACE (exclusive, as
 *   the kernel), SETINTERFACE, SETCONFIGURATION, GETDRIVER / IOCTL
 *   (no kernel driver: ENODATA), CLEAR_HALT, RESETEP, RESET,
 *   GET_CAPABILITIES, CONNECTINFO, GET_SPEED, CONNINFO_EX.
 *
 * Each client (one open of the node) has its own URB queues and its own
 * response frames: the answer to a command goes to the process that sent
 * it.  libusb polls the node for POLLOUT, which a socket always has, so an
 * empty REAPURBNDELAY is held back for up to PARK_MS (and answered at once
 * when a URB completes) rather than spinning the client.  umockdev's
 * preload library holds a lock per fd for the whole of an ioctl, so while
 * one thread's reap is held back, another thread's SUBMITURB on the same
 * handle waits (pcscd: libccid's interrupt-polling thread against its
 * APDU thread); VTOKEN_PARK_MS (1..100) sets the hold for such trials.
 */
#define _GNU_SOURCE
#include "reader.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <linux/usb/ch9.h>

#include <glib.h>
#include <umockdev.h>

#define PARK_MS		5
#define MAX_FRAMES	200000		/* queued response frames per client */
#define MAX_FRAME_BYTES	(16u << 20)	/* and their bytes */
#define MAX_URB_BYTES	(16u << 20)	/* URB buffers in flight, as usbfs */
#define BUSNUM		1
#define DEVNUM		2
#define SYSPATH		"/sys/devices/usb1/1-1"

int rd_debug;

#define DBG(...) do { if (rd_debug) fprintf(stderr, "vtoken-reader: " \
	__VA_ARGS__); } while (0)

struct rd_urb {
	UMockdevIoctlData *data;	/* the struct usbdevfs_urb */
	UMockdevIoctlData *buf;		/* its buffer; NULL if empty */
	gulong addr;			/* the URB's address in the client */
	uint8_t type, ep;
	int len;
};

struct rd_client {
	struct rd_usb *u;
	GQueue bulk_in, intr_in, done;	/* struct rd_urb * */
	GQueue frames;			/* GByteArray * */
	size_t frame_off;
	size_t frame_bytes;		/* in frames */
	size_t urb_bytes;		/* buffers of URBs not reaped */
	uint8_t *out;			/* bulk-OUT message being assembled */
	size_t outlen;
	uint8_t notify[8];
	size_t notify_len;
	UMockdevIoctlClient *parked;	/* a REAP waiting, referenced */
	GSource *park_timer;
	int park_blocking;
	int empty_reaps;		/* EAGAINs in a row */
	int dead;			/* opened before an unplug */
	size_t read_pos;		/* read() of the node: descriptors */
};

struct rd_usb {
	GRecMutex lock;
	UMockdevTestbed *tb;
	UMockdevIoctlBase *handler;
	char *root;
	char devnode[64];
	struct rd_dev *dev;
	GList *clients;
	struct rd_client *claimed_by;
	int removed;
	char *record;			/* the device, as umockdev adds it */
	struct rd_iccd *iccd;		/* ICCD profiles: the control pipe */
	/* Transfers completed (any status but a discard), and discarded
	 * URBs, since the start: `counters` on the control FIFO. */
	unsigned long n_ctrl, n_bulk_out, n_bulk_in, n_intr, n_discard;
};

void
rd_usb_lock(struct rd_usb *u)
{
	g_rec_mutex_lock(&u->lock);
}

void
rd_usb_unlock(struct rd_usb *u)
{
	g_rec_mutex_unlock(&u->lock);
}

const char *
rd_usb_root(const struct rd_usb *u)
{
	return u->root;
}

/* ---- URBs ---------------------------------------------------------------- */

static void
urb_free(struct rd_urb *urb)
{
	if (urb == NULL)
		return;
	if (urb->buf != NULL)
		umockdev_ioctl_data_unref(urb->buf);
	if (urb->data != NULL)
		umockdev_ioctl_data_unref(urb->data);
	g_free(urb);
}

static void
set_int(UMockdevIoctlData *d, size_t off, int v)
{
	umockdev_ioctl_data_update(d, off, (guint8 *)&v, sizeof(v));
}

static void park_release(struct rd_client *cl);

/* Hands a reaped URB to the client waiting in `c`. */
static void
reap_deliver(struct rd_client *cl, UMockdevIoctlClient *c,
    struct rd_urb *urb)
{
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
	UMockdevIoctlData *p;
	GError *e = NULL;

	p = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), &e);
	if (p == NULL) {
		DBG("reap: %s\n", e ? e->message : "?");
		g_clear_error(&e);
		umockdev_ioctl_client_complete(c, -1, EFAULT);
		urb_free(urb);
		return;
	}
	umockdev_ioctl_data_set_ptr(p, 0, urb->data);
	umockdev_ioctl_client_complete(c, 0, 0);
	cl->empty_reaps = 0;
	cl->urb_bytes -= (size_t)urb->len;
	umockdev_ioctl_data_unref(p);
	urb_free(urb);
}

/* Completes a URB: status, actual length, IN data; then it is reapable. */
static void
urb_done(struct rd_client *cl, struct rd_urb *urb, int status,
    const uint8_t *data, size_t n, size_t data_off)
{
	if (status == -ENOENT)
		cl->u->n_discard++;
	else if (urb->type == USBDEVFS_URB_TYPE_CONTROL)
		cl->u->n_ctrl++;
	else if (urb->type == USBDEVFS_URB_TYPE_INTERRUPT)
		cl->u->n_intr++;
	else if (urb->ep & 0x80)
		cl->u->n_bulk_in++;
	else
		cl->u->n_bulk_out++;
	if (n > 0 && urb->buf != NULL)
		umockdev_ioctl_data_update(urb->buf, data_off, (guint8 *)(uintptr_t)data,
		    (gint)n);
	set_int(urb->data, offsetof(struct usbdevfs_urb, status), status);
	set_int(urb->data, offsetof(struct usbdevfs_urb, actual_length),
	    (int)n);
	g_queue_push_tail(&cl->done, urb);
	if (cl->parked != NULL) {
		UMockdevIoctlClient *c = cl->parked;

		park_release(cl);
		reap_deliver(cl, c, g_queue_pop_head(&cl->done));
		g_object_unref(c);
	}
}

/* Moves response frames into waiting bulk-IN URBs and notifications into
 * waiting interrupt-IN URBs. */
static void
client_pump(struct rd_client *cl)
{
	uint16_t mp = rd_dev_profile(cl->u->dev)->max_packet;

	while (!g_queue_is_empty(&cl->bulk_in) &&
	    !g_queue_is_empty(&cl->frames)) {
		struct rd_urb *urb = g_queue_pop_head(&cl->bulk_in);
		GByteArray *f = g_queue_peek_head(&cl->frames);
		size_t left = f->len - cl->frame_off;
		size_t cap = (size_t)urb->len;
		/* a zero-length packet (the zlp injection) has no data */
		const uint8_t *p = f->len > 0 ? f->data + cl->frame_off : NULL;

		if (left <= cap) {
			g_queue_pop_head(&cl->frames);
			cl->frame_off = 0;
			cl->frame_bytes -= f->len;
			urb_done(cl, urb, 0, p, left, 0);
			g_byte_array_unref(f);
		} else if (mp != 0 && cap % mp == 0) {
			/* The transfer ends on a full buffer; the rest of
			 * the frame waits for the next one, as on a bus. */
			cl->frame_off += cap;
			urb_done(cl, urb, 0, p, cap, 0);
		} else {
			g_queue_pop_head(&cl->frames);
			cl->frame_off = 0;
			cl->frame_bytes -= f->len;
			urb_done(cl, urb, -EOVERFLOW, p, cap, 0);
			g_byte_array_unref(f);
		}
	}
	if (!g_queue_is_empty(&cl->intr_in) && cl->notify_len > 0) {
		struct rd_urb *urb = g_queue_pop_head(&cl->intr_in);
		size_t n = cl->notify_len;

		if (n > (size_t)urb->len)
			n = (size_t)urb->len;
		cl->notify_len = 0;
		urb_done(cl, urb, 0, cl->notify, n, 0);
	}
}

static void
emit_to_client(void *ctx, const uint8_t *frame, size_t len)
{
	struct rd_client *cl = ctx;

	if (g_queue_get_length(&cl->frames) >= MAX_FRAMES ||
	    cl->frame_bytes + len > MAX_FRAME_BYTES) {
		DBG("client frame queue full, frame dropped\n");
		return;
	}
	cl->frame_bytes += len;
	g_queue_push_tail(&cl->frames, g_byte_array_append(
	    g_byte_array_sized_new((guint)len), frame, (guint)len));
}

/* ---- parked reaps --------------------------------------------------------- */

static void
park_release(struct rd_client *cl)
{
	if (cl->park_timer != NULL) {
		g_source_destroy(cl->park_timer);
		g_source_unref(cl->park_timer);
		cl->park_timer = NULL;
	}
	cl->parked = NULL;
}

static gboolean
park_timeout(gpointer data)
{
	struct rd_client *cl = data;
	struct rd_usb *u = cl->u;
	UMockdevIoctlClient *c;

	rd_usb_lock(u);
	c = cl->parked;
	if (c == NULL) {
		rd_usb_unlock(u);
		return G_SOURCE_REMOVE;
	}
	if (cl->park_blocking && umockdev_ioctl_client_get_connected(c) &&
	    !cl->dead) {
		rd_usb_unlock(u);
		return G_SOURCE_CONTINUE;
	}
	park_release(cl);
	if (cl->dead)
		umockdev_ioctl_client_complete(c, -1, ENODEV);
	else
		umockdev_ioctl_client_complete(c, -1, EAGAIN);
	rd_usb_unlock(u);
	g_object_unref(c);
	return G_SOURCE_REMOVE;
}

/* PARK_MS, or VTOKEN_PARK_MS from the environment. */
static guint
park_ms(void)
{
	static guint ms;

	if (ms == 0) {
		const char *e = getenv("VTOKEN_PARK_MS");
		long v = e != NULL ? strtol(e, NULL, 10) : 0;

		ms = v >= 1 && v <= 100 ? (guint)v : PARK_MS;
	}
	return ms;
}

static void
park(struct rd_client *cl, UMockdevIoctlClient *c, int blocking)
{
	GMainContext *ctx = g_main_context_get_thread_default();

	cl->parked = g_object_ref(c);
	cl->park_blocking = blocking;
	cl->park_timer = g_timeout_source_new(blocking ? 100 : park_ms());
	g_source_set_callback(cl->park_timer, park_timeout, cl, NULL);
	g_source_attach(cl->park_timer, ctx);
}

/* ---- clients -------------------------------------------------------------- */

static void
client_free(gpointer data)
{
	struct rd_client *cl = data;
	struct rd_usb *u = cl->u;
	gpointer p;

	rd_usb_lock(u);
	DBG("client gone\n");
	u->clients = g_list_remove(u->clients, cl);
	if (u->claimed_by == cl)
		u->claimed_by = NULL;
	if (cl->park_timer != NULL) {
		g_source_destroy(cl->park_timer);
		g_source_unref(cl->park_timer);
	}
	while ((p = g_queue_pop_head(&cl->bulk_in)) != NULL)
		urb_free(p);
	while ((p = g_queue_pop_head(&cl->intr_in)) != NULL)
		urb_free(p);
	while ((p = g_queue_pop_head(&cl->done)) != NULL)
		urb_free(p);
	while ((p = g_queue_pop_head(&cl->frames)) != NULL)
		g_byte_array_unref(p);
	g_free(cl->out);
	g_free(cl);
	rd_usb_unlock(u);
}

static struct rd_client *
client_get(struct rd_usb *u, UMockdevIoctlClient *c)
{
	struct rd_client *cl = g_object_get_data(G_OBJECT(c), "vtoken");
	const struct rd_profile *p;

	if (cl != NULL)
		return cl;
	p = rd_dev_profile(u->dev);
	cl = g_new0(struct rd_client, 1);
	cl->u = u;
	cl->out = g_malloc(p->ccid.dwMaxCCIDMessageLength);
	g_queue_init(&cl->bulk_in);
	g_queue_init(&cl->intr_in);
	g_queue_init(&cl->done);
	g_queue_init(&cl->frames);
	u->clients = g_list_prepend(u->clients, cl);
	g_object_set_data_full(G_OBJECT(c), "vtoken", cl, client_free);
	DBG("new client\n");
	return cl;
}

/* ---- hooks from the CCID side (called with the lock held) ------------------ */

static void
hook_notify(void *ctx, const uint8_t *msg, size_t len)
{
	struct rd_usb *u = ctx;
	GList *l;

	if (len == 0 || len > sizeof(((struct rd_client *)0)->notify))
		return;
	for (l = u->clients; l != NULL; l = l->next) {
		struct rd_client *cl = l->data;
		size_t i;

		if (cl->notify_len == len) {
			/* Not read yet: keep the change bits, take the
			 * new presence bits. */
			for (i = 1; i < len; i++)
				cl->notify[i] = (uint8_t)((cl->notify[i] &
				    0xAA) | msg[i]);
		} else {
			memcpy(cl->notify, msg, len);
			cl->notify_len = len;
		}
		client_pump(cl);
	}
}

static void
hook_unplug(void *ctx)
{
	struct rd_usb *u = ctx;
	GList *l;
	gpointer p;

	DBG("unplug\n");
	u->claimed_by = NULL;
	for (l = u->clients; l != NULL; l = l->next) {
		struct rd_client *cl = l->data;

		cl->dead = 1;
		while ((p = g_queue_pop_head(&cl->bulk_in)) != NULL)
			urb_done(cl, p, -ENODEV, NULL, 0, 0);
		while ((p = g_queue_pop_head(&cl->intr_in)) != NULL)
			urb_done(cl, p, -ENODEV, NULL, 0, 0);
		if (cl->parked != NULL && g_queue_is_empty(&cl->done)) {
			UMockdevIoctlClient *c = cl->parked;

			park_release(cl);
			umockdev_ioctl_client_complete(c, -1, ENODEV);
			g_object_unref(c);
		}
	}
	if (!u->removed) {
		u->removed = 1;
		umockdev_testbed_remove_device(u->tb, SYSPATH);
	}
}

static void
hook_replug(void *ctx)
{
	struct rd_usb *u = ctx;
	GError *e = NULL;

	DBG("replug\n");
	if (u->removed && u->record != NULL) {
		if (!umockdev_testbed_add_from_string(u->tb, u->record, &e)) {
			fprintf(stderr, "vtoken-reader: replug: %s\n",
			    e->message);
			g_clear_error(&e);
			return;
		}
		u->removed = 0;
	}
}

void
rd_usb_hooks(struct rd_usb *u, struct rd_hooks *h)
{
	h->notify = hook_notify;
	h->unplug = hook_unplug;
	h->replug = hook_replug;
	h->ctx = u;
}

/* ---- control transfers ---------------------------------------------------- */

static size_t
string_desc(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 2, i;

	for (i = 0; s[i] != '\0' && n + 2 <= cap && n + 2 <= 255; i++) {
		out[n++] = (uint8_t)s[i];
		out[n++] = 0;
	}
	out[0] = (uint8_t)n;
	out[1] = 3;
	return n;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Returns the data length of the answer, or -EPIPE (stall). */
static int
control(struct rd_usb *u, const uint8_t *setup, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t cap)
{
	const struct rd_profile *p = rd_dev_profile(u->dev);
	uint8_t rt = setup[0], req = setup[1];
	uint16_t value = (uint16_t)(setup[2] | setup[3] << 8);
	uint16_t index = (uint16_t)(setup[4] | setup[5] << 8);
	uint16_t wlen = (uint16_t)(setup[6] | setup[7] << 8);
	uint8_t buf[256];
	size_t n = 0;

	(void)in;
	if (wlen > cap)
		wlen = (uint16_t)cap;
	if (rt == 0x80 && req == USB_REQ_GET_DESCRIPTOR) {
		uint8_t type = (uint8_t)(value >> 8), idx = (uint8_t)(value & 0xFF);
		const uint8_t *src = buf;

		switch (type) {
		case USB_DT_DEVICE:
			src = p->dev;
			n = sizeof(p->dev);
			break;
		case USB_DT_CONFIG:
			if (idx != 0)
				return -EPIPE;
			src = p->cfg;
			n = p->cfglen;
			break;
		case USB_DT_STRING:
			if (idx == 0) {
				buf[0] = 4; buf[1] = 3; buf[2] = 0x09;
				buf[3] = 0x04;
				n = 4;
			} else if (idx == 1 && p->manufacturer[0])
				n = string_desc(p->manufacturer, buf,
				    sizeof(buf));
			else if (idx == 2 && p->product[0])
				n = string_desc(p->product, buf, sizeof(buf));
			else if (idx == 3 && p->serial[0])
				n = string_desc(p->serial, buf, sizeof(buf));
			else
				return -EPIPE;
			break;
		default:
			return -EPIPE;
		}
		if (n > wlen)
			n = wlen;
		memcpy(out, src, n);
		return (int)n;
	}
	if ((rt & 0x80) && req == USB_REQ_GET_STATUS && wlen >= 2) {
		out[0] = out[1] = 0;
		return 2;
	}
	if (rt == 0x80 && req == USB_REQ_GET_CONFIGURATION && wlen >= 1) {
		out[0] = 1;
		return 1;
	}
	if ((rt & 0x60) == 0 && (req == USB_REQ_SET_CONFIGURATION ||
	    req == USB_REQ_SET_INTERFACE || req == USB_REQ_CLEAR_FEATURE ||
	    req == USB_REQ_SET_FEATURE))
		return 0;
	/* ICCD class requests to interface 0 (reader_iccd.c). */
	if (u->iccd != NULL && (rt & 0x7F) == 0x21 && (index & 0xFF) == 0)
		return rd_iccd_control(u->iccd, u->dev, rt, req, value, in,
		    (rt & 0x80) ? 0 : MIN(inlen, (size_t)wlen), out, wlen);
	/* CCID class requests to interface 0 (CCID 1.1 §5.3). */
	if ((rt & 0x7F) == 0x21 && (index & 0xFF) == 0) {
		if (rt == 0x21 && req == 0x01 && inlen == 0) {
			rd_dev_class_abort(u->dev, (uint8_t)(value & 0xFF), (uint8_t)(value >> 8));
			return 0;
		}
		if (rt == 0xA1 && req == 0x02 && wlen >= 4) {
			put32(out, p->ccid.dwDefaultClock);
			if (p->ccid.dwMaximumClock != p->ccid.dwDefaultClock &&
			    wlen >= 8) {
				put32(out + 4, p->ccid.dwMaximumClock);
				return 8;
			}
			return 4;
		}
		if (rt == 0xA1 && req == 0x03 && wlen >= 4) {
			put32(out, p->ccid.dwDataRate);
			if (p->ccid.dwMaxDataRate != p->ccid.dwDataRate &&
			    wlen >= 8) {
				put32(out + 4, p->ccid.dwMaxDataRate);
				return 8;
			}
			return 4;
		}
	}
	return -EPIPE;
}

/* ---- SUBMITURB ------------------------------------------------------------- */

static void
bulk_out(struct rd_usb *u, struct rd_client *cl, const uint8_t *data,
    size_t n)
{
	const struct rd_profile *p = rd_dev_profile(u->dev);
	size_t cap = p->ccid.dwMaxCCIDMessageLength;
	int short_packet = p->max_packet == 0 || n % p->max_packet != 0;

	for (;;) {
		size_t take = n, want;
		uint32_t dlen;

		if (cl->outlen + take > cap) {
			/* Longer than the reader takes: answer with a
			 * dwLength error and drop what came. */
			uint8_t m[10];

			memcpy(m, cl->out, cl->outlen >= 10 ? 10 :
			    cl->outlen);
			if (cl->outlen < 10)
				memset(m + cl->outlen, 0, 10 - cl->outlen);
			m[1] = m[2] = m[3] = 0xFF;
			m[4] = 0x7F;	/* dwLength != bytes: reader says so */
			rd_dev_command(u->dev, m, 10, emit_to_client, cl);
			cl->outlen = 0;
			return;
		}
		memcpy(cl->out + cl->outlen, data, take);
		cl->outlen += take;
		n = 0;
		if (cl->outlen < 10) {
			if (short_packet)
				cl->outlen = 0;	/* a runt: ignored */
			return;
		}
		dlen = (uint32_t)cl->out[1] | (uint32_t)cl->out[2] << 8 |
		    (uint32_t)cl->out[3] << 16 | (uint32_t)cl->out[4] << 24;
		want = dlen > cap - 10 ? cap : 10 + dlen;
		if (cl->outlen < want && !short_packet)
			return;		/* more packets to come */
		/* A short packet ends the transfer: the message is what
		 * came (the CCID side checks dwLength against it). */
		rd_dev_command(u->dev, cl->out, cl->outlen, emit_to_client,
		    cl);
		cl->outlen = 0;
		return;
	}
}

static void
submit(struct rd_usb *u, struct rd_client *cl, UMockdevIoctlClient *c,
    UMockdevIoctlData *arg)
{
	const struct rd_profile *p = rd_dev_profile(u->dev);
	UMockdevIoctlData *ud;
	struct usbdevfs_urb *k;
	struct rd_urb *urb;
	GError *e = NULL;

	ud = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb),
	    &e);
	if (ud == NULL) {
		g_clear_error(&e);
		umockdev_ioctl_client_complete(c, -1, EFAULT);
		return;
	}
	k = (struct usbdevfs_urb *)ud->data;
	if (k->buffer_length < 0 || k->buffer_length > 1024 * 1024 ||
	    k->type == USBDEVFS_URB_TYPE_ISO) {
		umockdev_ioctl_data_unref(ud);
		umockdev_ioctl_client_complete(c, -1, EINVAL);
		return;
	}
	if (cl->urb_bytes + (size_t)k->buffer_length > MAX_URB_BYTES) {
		/* usbfs_memory_mb: the kernel says ENOMEM too */
		umockdev_ioctl_data_unref(ud);
		umockdev_ioctl_client_complete(c, -1, ENOMEM);
		return;
	}
	urb = g_new0(struct rd_urb, 1);
	urb->data = ud;		/* resolve() gave us a reference */
	urb->addr = ud->client_addr;
	urb->type = k->type;
	urb->ep = k->endpoint;
	urb->len = k->buffer_length;
	if (urb->len > 0) {
		urb->buf = umockdev_ioctl_data_resolve(ud,
		    offsetof(struct usbdevfs_urb, buffer), (gsize)urb->len, &e);
		if (urb->buf == NULL) {
			g_clear_error(&e);
			urb_free(urb);
			umockdev_ioctl_client_complete(c, -1, EFAULT);
			return;
		}
	}
	DBG("submit type %u ep %02x len %d\n", urb->type, urb->ep, urb->len);
	cl->urb_bytes += (size_t)urb->len;	/* until reaped */

	if (urb->type == USBDEVFS_URB_TYPE_CONTROL && urb->ep == 0) {
		uint8_t out[512];
		int r;

		if (urb->len < 8) {
			cl->urb_bytes -= (size_t)urb->len;
			urb_free(urb);
			umockdev_ioctl_client_complete(c, -1, EINVAL);
			return;
		}
		r = control(u, urb->buf->data, urb->buf->data + 8,
		    (size_t)urb->len - 8, out, MIN(sizeof(out),
		    (size_t)urb->len - 8));
		umockdev_ioctl_client_complete(c, 0, 0);
		if (r < 0)
			urb_done(cl, urb, r, NULL, 0, 0);
		else
			urb_done(cl, urb, 0, out, (size_t)r, 8);
		return;
	}
	if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->ep == p->ep_out) {
		uint8_t *copy = urb->len > 0 ?
		    g_memdup2(urb->buf->data, (gsize)urb->len) : NULL;
		size_t n = (size_t)urb->len;

		umockdev_ioctl_client_complete(c, 0, 0);
		/* Sent: the OUT URB is done before the answer exists. */
		u->n_bulk_out++;
		set_int(urb->data, offsetof(struct usbdevfs_urb, status), 0);
		set_int(urb->data, offsetof(struct usbdevfs_urb,
		    actual_length), (int)n);
		g_queue_push_tail(&cl->done, urb);
		bulk_out(u, cl, copy, n);
		g_free(copy);
		client_pump(cl);
		if (cl->parked != NULL && !g_queue_is_empty(&cl->done)) {
			UMockdevIoctlClient *pc = cl->parked;

			park_release(cl);
			reap_deliver(cl, pc, g_queue_pop_head(&cl->done));
			g_object_unref(pc);
		}
		return;
	}
	if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->ep == p->ep_in) {
		umockdev_ioctl_client_complete(c, 0, 0);
		g_queue_push_tail(&cl->bulk_in, urb);
		client_pump(cl);
		return;
	}
	if (urb->type == USBDEVFS_URB_TYPE_INTERRUPT && p->ep_intr != 0 &&
	    urb->ep == p->ep_intr) {
		umockdev_ioctl_client_complete(c, 0, 0);
		g_queue_push_tail(&cl->intr_in, urb);
		client_pump(cl);
		return;
	}
	DBG("submit to unknown endpoint %02x type %u\n", urb->ep, urb->type);
	cl->urb_bytes -= (size_t)urb->len;
	urb_free(urb);
	umockdev_ioctl_client_complete(c, -1, ENOENT);
}

static struct rd_urb *
take_by_addr(GQueue *q, gulong addr)
{
	GList *l;

	for (l = q->head; l != NULL; l = l->next) {
		struct rd_urb *urb = l->data;

		if (urb->addr == addr) {
			g_queue_delete_link(q, l);
			return urb;
		}
	}
	return NULL;
}

/* USBDEVFS_CONTROL: a synchronous control transfer (libusb uses it for
 * GET_CONFIGURATION on a wrapped fd). */
static void
sync_control(struct rd_usb *u, UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
	UMockdevIoctlData *d, *buf = NULL;
	struct usbdevfs_ctrltransfer ct;
	uint8_t setup[8], out[512];
	int r;

	d = umockdev_ioctl_data_resolve(arg, 0, sizeof(ct), NULL);
	if (d == NULL) {
		umockdev_ioctl_client_complete(c, -1, EFAULT);
		return;
	}
	memcpy(&ct, d->data, sizeof(ct));
	if (ct.wLength > 0) {
		buf = umockdev_ioctl_data_resolve(d, offsetof(struct
		    usbdevfs_ctrltransfer, data), ct.wLength, NULL);
		if (buf == NULL) {
			umockdev_ioctl_data_unref(d);
			umockdev_ioctl_client_complete(c, -1, EFAULT);
			return;
		}
	}
	setup[0] = ct.bRequestType;
	setup[1] = ct.bRequest;
	setup[2] = (uint8_t)ct.wValue;
	setup[3] = (uint8_t)(ct.wValue >> 8);
	setup[4] = (uint8_t)ct.wIndex;
	setup[5] = (uint8_t)(ct.wIndex >> 8);
	setup[6] = (uint8_t)ct.wLength;
	setup[7] = (uint8_t)(ct.wLength >> 8);
	u->n_ctrl++;
	r = control(u, setup, buf != NULL && !(ct.bRequestType & 0x80) ?
	    buf->data : NULL, (ct.bRequestType & 0x80) ? 0 : ct.wLength, out,
	    MIN(sizeof(out), ct.wLength));
	if (r < 0)
		umockdev_ioctl_client_complete(c, -1, -r);
	else {
		if (r > 0 && (ct.bRequestType & 0x80) && buf != NULL)
			umockdev_ioctl_data_update(buf, 0, out, r);
		umockdev_ioctl_client_complete(c, r, 0);
	}
	if (buf != NULL)
		umockdev_ioctl_data_unref(buf);
	umockdev_ioctl_data_unref(d);
}

/* read() of the node: the descriptors, as usbfs gives them. */
static gboolean
on_read(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer data)
{
	struct rd_usb *u = data;
	struct rd_client *cl;
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
	const struct rd_profile *p;
	uint8_t all[18 + RD_CFG_MAX];
	size_t n, total;

	(void)h;
	rd_usb_lock(u);
	cl = client_get(u, c);
	if (cl->dead || rd_dev_unplugged(u->dev)) {
		umockdev_ioctl_client_complete(c, -1, ENODEV);
		goto out;
	}
	p = rd_dev_profile(u->dev);
	memcpy(all, p->dev, 18);
	memcpy(all + 18, p->cfg, p->cfglen);
	total = 18 + p->cfglen;
	n = cl->read_pos < total ? total - cl->read_pos : 0;
	if (arg->data_len >= 0 && n > (size_t)arg->data_len)
		n = (size_t)arg->data_len;
	if (n > 0)
		umockdev_ioctl_data_update(arg, 0, all + cl->read_pos, (gint)n);
	cl->read_pos += n;
	umockdev_ioctl_client_complete(c, (glong)n, 0);
out:
	rd_usb_unlock(u);
	return TRUE;
}

/* ---- the ioctl handler ---------------------------------------------------- */

static unsigned int
arg_uint(UMockdevIoctlData *arg, int *ok)
{
	UMockdevIoctlData *d;
	unsigned int v = 0;

	d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), NULL);
	*ok = d != NULL;
	if (d != NULL) {
		memcpy(&v, d->data, sizeof(v));
		umockdev_ioctl_data_unref(d);
	}
	return v;
}

static gboolean
on_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer data)
{
	struct rd_usb *u = data;
	struct rd_client *cl;
	gulong req = umockdev_ioctl_client_get_request(c);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
	unsigned int v;
	int ok;

	(void)h;
	rd_usb_lock(u);
	cl = client_get(u, c);

	if (cl->dead || rd_dev_unplugged(u->dev)) {
		/* Reaping what was killed still works; all else ENODEV. */
		if ((req == USBDEVFS_REAPURB || req == USBDEVFS_REAPURBNDELAY)
		    && !g_queue_is_empty(&cl->done))
			reap_deliver(cl, c, g_queue_pop_head(&cl->done));
		else
			umockdev_ioctl_client_complete(c, -1, ENODEV);
		goto out;
	}

	switch (req) {
	case USBDEVFS_GET_CAPABILITIES: {
		g_autoptr(UMockdevIoctlData) d =
		    umockdev_ioctl_data_resolve(arg, 0, 4, NULL);
		guint32 caps = USBDEVFS_CAP_BULK_CONTINUATION |
		    USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
		    USBDEVFS_CAP_REAP_AFTER_DISCONNECT |
		    USBDEVFS_CAP_ZERO_PACKET;

		if (d == NULL) {
			umockdev_ioctl_client_complete(c, -1, EFAULT);
			break;
		}
		umockdev_ioctl_data_update(d, 0, (guint8 *)&caps, 4);
		umockdev_ioctl_client_complete(c, 0, 0);
		break;
	}
	case USBDEVFS_CLAIMINTERFACE:
	case USBDEVFS_DISCONNECT_CLAIM:
		v = arg_uint(arg, &ok);
		if (!ok)
			umockdev_ioctl_client_complete(c, -1, EFAULT);
		else if (v != 0)
			umockdev_ioctl_client_complete(c, -1, ENOENT);
		else if (u->claimed_by != NULL && u->claimed_by != cl)
			umockdev_ioctl_client_complete(c, -1, EBUSY);
		else {
			u->claimed_by = cl;
			umockdev_ioctl_client_complete(c, 0, 0);
		}
		break;
	case USBDEVFS_RELEASEINTERFACE:
		v = arg_uint(arg, &ok);
		if (!ok)
			umockdev_ioctl_client_complete(c, -1, EFAULT);
		else if (v != 0 || u->claimed_by != cl)
			umockdev_ioctl_client_complete(c, -1, EINVAL);
		else {
			u->claimed_by = NULL;
			umockdev_ioctl_client_complete(c, 0, 0);
		}
		break;
	case USBDEVFS_SETINTERFACE: {
		g_autoptr(UMockdevIoctlData) d =
		    umockdev_ioctl_data_resolve(arg, 0,
		    sizeof(struct usbdevfs_setinterface), NULL);
		struct usbdevfs_setinterface si;

		if (d == NULL) {
			umockdev_ioctl_client_complete(c, -1, EFAULT);
			break;
		}
		memcpy(&si, d->data, sizeof(si));
		umockdev_ioctl_client_complete(c, si.interface == 0 &&
		    si.altsetting == 0 ? 0 : -1, si.interface == 0 &&
		    si.altsetting == 0 ? 0 : EINVAL);
		break;
	}
	case USBDEVFS_SETCONFIGURATION:
		v = arg_uint(arg, &ok);
		umockdev_ioctl_client_complete(c, ok && (v == 1 ||
		    v == (unsigned)-1 || v == 0) ? 0 : -1, ok ? EINVAL :
		    EFAULT);
		break;
	case USBDEVFS_GETDRIVER:
		umockdev_ioctl_client_complete(c, -1, ENODATA);
		break;
	case USBDEVFS_IOCTL:
		/* DISCONNECT / CONNECT of a kernel driver: there is none. */
		umockdev_ioctl_client_complete(c, -1, ENODATA);
		break;
	case USBDEVFS_CLEAR_HALT:
	case USBDEVFS_RESETEP:
		v = arg_uint(arg, &ok);
		umockdev_ioctl_client_complete(c, ok ? 0 : -1, ok ? 0 : EFAULT);
		break;
	case USBDEVFS_RESET:
		rd_dev_reset(u->dev);
		umockdev_ioctl_client_complete(c, 0, 0);
		break;
	case USBDEVFS_CONNECTINFO: {
		g_autoptr(UMockdevIoctlData) d =
		    umockdev_ioctl_data_resolve(arg, 0,
		    sizeof(struct usbdevfs_connectinfo), NULL);
		struct usbdevfs_connectinfo ci = { .devnum = DEVNUM, .slow = 0 };

		if (d == NULL) {
			umockdev_ioctl_client_complete(c, -1, EFAULT);
			break;
		}
		umockdev_ioctl_data_update(d, 0, (guint8 *)&ci, sizeof(ci));
		umockdev_ioctl_client_complete(c, 0, 0);
		break;
	}
#ifdef USBDEVFS_GET_SPEED
	case USBDEVFS_GET_SPEED:
		umockdev_ioctl_client_complete(c, 2 /* USB_SPEED_FULL */, 0);
		break;
#endif
	case USBDEVFS_CONTROL:
		sync_control(u, c, arg);
		break;
	case USBDEVFS_SUBMITURB:
		submit(u, cl, c, arg);
		break;
	case USBDEVFS_DISCARDURB: {
		gulong addr = 0;
		struct rd_urb *urb;

		if (arg->data_len >= (gint)sizeof(gulong))
			memcpy(&addr, arg->data, sizeof(addr));
		if ((urb = take_by_addr(&cl->bulk_in, addr)) == NULL)
			urb = take_by_addr(&cl->intr_in, addr);
		if (urb == NULL) {
			umockdev_ioctl_client_complete(c, -1, EINVAL);
			break;
		}
		umockdev_ioctl_client_complete(c, 0, 0);
		urb_done(cl, urb, -ENOENT, NULL, 0, 0);
		break;
	}
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY:
		if (cl->parked != NULL) {
			umockdev_ioctl_client_complete(c, -1, EBUSY);
			break;
		}
		if (!g_queue_is_empty(&cl->done)) {
			reap_deliver(cl, c, g_queue_pop_head(&cl->done));
			break;
		}
		/* libusb reaps until EAGAIN after every completion: that
		 * first EAGAIN goes back at once; a client that keeps
		 * asking is waiting, and waits here. */
		if (req == USBDEVFS_REAPURBNDELAY && cl->empty_reaps++ == 0) {
			umockdev_ioctl_client_complete(c, -1, EAGAIN);
			break;
		}
		park(cl, c, req == USBDEVFS_REAPURB);
		break;
	default:
		if (_IOC_TYPE(req) == 'U' && _IOC_NR(req) == 32) {
			/* CONNINFO_EX(size) */
			struct usbdevfs_conninfo_ex ci;
			size_t n = _IOC_SIZE(req);
			g_autoptr(UMockdevIoctlData) d = NULL;

			memset(&ci, 0, sizeof(ci));
			ci.size = sizeof(ci);
			ci.busnum = BUSNUM;
			ci.devnum = DEVNUM;
			ci.speed = 2;
			ci.num_ports = 1;
			ci.ports[0] = 1;
			if (n > sizeof(ci))
				n = sizeof(ci);
			d = umockdev_ioctl_data_resolve(arg, 0, n, NULL);
			if (d == NULL) {
				umockdev_ioctl_client_complete(c, -1, EFAULT);
				break;
			}
			umockdev_ioctl_data_update(d, 0, (guint8 *)&ci,
			    (gint)n);
			umockdev_ioctl_client_complete(c, 0, 0);
			break;
		}
		DBG("unhandled ioctl 0x%lx\n", req);
		umockdev_ioctl_client_complete(c, -1, ENOTTY);
		break;
	}
out:
	rd_usb_unlock(u);
	return TRUE;
}

/* ---- setup ---------------------------------------------------------------- */

void
rd_usb_counters(struct rd_usb *u, char *buf, size_t n)
{
	rd_usb_lock(u);
	snprintf(buf, n, "control=%lu bulk-out=%lu bulk-in=%lu interrupt=%lu "
	    "discarded=%lu", u->n_ctrl, u->n_bulk_out, u->n_bulk_in,
	    u->n_intr, u->n_discard);
	rd_usb_unlock(u);
}

int
rd_usb_new(struct rd_usb **up, char *err, size_t errlen)
{
	struct rd_usb *u;

	*up = NULL;
	u = g_new0(struct rd_usb, 1);
	g_rec_mutex_init(&u->lock);
	if ((u->tb = umockdev_testbed_new()) == NULL) {
		snprintf(err, errlen, "umockdev_testbed_new failed");
		g_rec_mutex_clear(&u->lock);
		g_free(u);
		return -1;
	}
	u->root = umockdev_testbed_get_root_dir(u->tb);
	snprintf(u->devnode, sizeof(u->devnode), "/dev/bus/usb/%03d/%03d",
	    BUSNUM, DEVNUM);
	*up = u;
	return 0;
}

void
rd_usb_free(struct rd_usb **up)
{
	struct rd_usb *u;

	if (up == NULL || (u = *up) == NULL)
		return;
	if (u->handler != NULL) {
		umockdev_testbed_detach_ioctl(u->tb, u->devnode, NULL);
		g_object_unref(u->handler);
	}
	if (u->tb != NULL)
		g_object_unref(u->tb);	/* removes the root directory */
	g_free(u->root);
	g_free(u->record);
	rd_iccd_free(&u->iccd);
	g_rec_mutex_clear(&u->lock);
	g_free(u);
	*up = NULL;
}

int
rd_usb_start(struct rd_usb *u, struct rd_dev *d, char *err, size_t errlen)
{
	const struct rd_profile *p = rd_dev_profile(d);
	GString *rec, *hex;
	GError *e = NULL;
	size_t i;
	int ok;

	u->dev = d;
	if (p->iccd && (u->iccd = rd_iccd_new(p->iccd)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	u->handler = umockdev_ioctl_base_new();
	g_signal_connect(u->handler, "handle-ioctl", G_CALLBACK(on_ioctl), u);
	g_signal_connect(u->handler, "handle-read", G_CALLBACK(on_read), u);
	/* Attach before the device exists, so that an open right after the
	 * add event works. */
	if (!umockdev_testbed_attach_ioctl(u->tb, u->devnode, u->handler,
	    &e)) {
		snprintf(err, errlen, "attach_ioctl: %s", e->message);
		g_clear_error(&e);
		return -1;
	}
	hex = g_string_new(NULL);
	for (i = 0; i < sizeof(p->dev); i++)
		g_string_append_printf(hex, "%02X", p->dev[i]);
	for (i = 0; i < p->cfglen; i++)
		g_string_append_printf(hex, "%02X", p->cfg[i]);
	rec = g_string_new(NULL);
	g_string_append_printf(rec,
	    "P: /devices/usb1/1-1\n"
	    "N: bus/usb/%03d/%03d\n"
	    "E: SUBSYSTEM=usb\n"
	    "E: DRIVER=usb\n"
	    "E: BUSNUM=%03d\n"
	    "E: DEVNUM=%03d\n"
	    "E: DEVNAME=%s\n"
	    "E: DEVTYPE=usb_device\n"
	    "E: PRODUCT=%x/%x/%x\n"
	    "A: bConfigurationValue=1\\n\n"
	    "A: bNumConfigurations=1\\n\n"
	    "A: bNumInterfaces= 1\\n\n"
	    "A: busnum=%d\\n\n"
	    "A: devnum=%d\\n\n"
	    "A: devpath=1\\n\n"
	    "A: speed=12\\n\n"
	    "A: idVendor=%04x\\n\n"
	    "A: idProduct=%04x\\n\n"
	    "A: bcdDevice=%04x\\n\n",
	    BUSNUM, DEVNUM, BUSNUM, DEVNUM, u->devnode, p->vid, p->pid,
	    p->bcd_device, BUSNUM, DEVNUM, p->vid, p->pid, p->bcd_device);
	/* Strings go in as attributes as the kernel shows them; keep them
	 * to one line. */
	if (p->manufacturer[0] && strchr(p->manufacturer, '\n') == NULL)
		g_string_append_printf(rec, "A: manufacturer=%s\\n\n",
		    p->manufacturer);
	if (p->product[0] && strchr(p->product, '\n') == NULL)
		g_string_append_printf(rec, "A: product=%s\\n\n", p->product);
	if (p->serial[0])
		g_string_append_printf(rec, "A: serial=%s\\n\n", p->serial);
	g_string_append_printf(rec, "H: descriptors=%s\n", hex->str);
	ok = umockdev_testbed_add_from_string(u->tb, rec->str, &e);
	u->record = g_string_free(rec, FALSE);
	g_string_free(hex, TRUE);
	if (!ok) {
		snprintf(err, errlen, "add device: %s", e->message);
		g_clear_error(&e);
		return -1;
	}
	return 0;
}
