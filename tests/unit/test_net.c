// SPDX-License-Identifier: MIT
/*
 * Unit tests for the network backend (src/net): the generic RX/TX path
 * and its back-pressure over the fake backend, the MAC and CRC helpers,
 * and a real TAP device when the test may create one (root, /dev/net/tun;
 * otherwise that test says why it skipped).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "hvkvm/net.h"
#include "hvkvm/util.h"

struct fake_dev {
	unsigned int got;   /* frames taken */
	uint8_t last[2048]; /* the last one */
	size_t last_len;
	unsigned int refuse;  /* refuse this many more offers */
	unsigned int offers;  /* offers seen (taken or not) */
	unsigned int tx_wake; /* tx_ready calls */
};

static int dev_receive(void *opaque, const void *frame, size_t len)
{
	struct fake_dev *d = opaque;

	d->offers++;
	if (d->refuse) {
		d->refuse--;
		return -ENOBUFS;
	}
	d->got++;
	d->last_len = MIN(len, sizeof(d->last));
	memcpy(d->last, frame, d->last_len);
	return 0;
}

static void dev_tx_ready(void *opaque)
{
	((struct fake_dev *)opaque)->tx_wake++;
}

static const struct net_client_ops dev_ops = {
	.receive = dev_receive,
	.tx_ready = dev_tx_ready,
};

static void frame(uint8_t *f, size_t len, uint8_t tag)
{
	size_t i;

	memset(f, 0xff, 6); /* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (i = 14; i < len; i++)
		f[i] = (uint8_t)(tag + i);
}

static void test_net_fake_rx_backpressure(void **state)
{
	struct net_backend *nb;
	struct fake_dev d = { 0 };
	struct net_stats st;
	uint8_t f[100];
	unsigned int i;

	assert_int_equal(net_fake_create(&nb), 0);
	assert_string_equal(net_name(nb), "fake");
	assert_int_equal(net_attach(nb, NULL, &dev_ops, &d), 0);
	assert_int_equal(net_attach(nb, NULL, &dev_ops, &d), -EBUSY);
	/*
	 * Injected frames are offered at once. The device refuses the first:
	 * reception pauses with that frame kept, the others wait behind it.
	 */
	d.refuse = 1;
	for (i = 0; i < 3; i++) {
		frame(f, sizeof(f), (uint8_t)i);
		assert_int_equal(net_fake_inject(nb, f, sizeof(f)), 0);
	}
	assert_int_equal(d.got, 0);
	assert_true(net_fake_rx_paused(nb));
	net_poll(nb); /* paused: nothing is offered */
	assert_int_equal(d.offers, 1);
	net_rx_resume(nb);
	net_poll(nb);
	assert_int_equal(d.got, 3);
	frame(f, sizeof(f), 2);
	assert_memory_equal(d.last, f, sizeof(f)); /* in order, none lost */
	net_get_stats(nb, &st);
	assert_int_equal(st.rx_frames, 3);
	assert_int_equal(st.rx_bytes, 300);
	assert_int_equal(st.rx_pause, 1);
	/* Queue limits and bad frames. */
	d.refuse = 1; /* paused: the queue fills up */
	for (i = 0; i <= NET_FAKE_QUEUE; i++)
		assert_int_equal(net_fake_inject(nb, f, sizeof(f)), 0);
	assert_true(net_fake_rx_pending(nb) >= NET_FAKE_QUEUE);
	assert_int_equal(net_fake_inject(nb, f, sizeof(f)), -ENOSPC);
	assert_int_equal(net_fake_inject(nb, f, 0), -EINVAL);
	net_count_drop(nb);
	net_get_stats(nb, &st);
	assert_int_equal(st.rx_drops, 1);
	net_close(nb); /* frees what is still queued */
}

static void test_net_fake_tx(void **state)
{
	struct net_backend *nb;
	struct fake_dev d = { 0 };
	struct net_stats st;
	uint8_t f[64], out[128];
	struct iovec iov[2] = { { f, 20 }, { f + 20, 44 } };
	struct net_frame frames[3] = { { iov, 2 }, { iov, 2 }, { iov, 1 } };

	assert_int_equal(net_fake_create(&nb), 0);
	assert_int_equal(net_attach(nb, NULL, &dev_ops, &d), 0);
	frame(f, sizeof(f), 7);
	assert_int_equal(net_send(nb, iov, 2), 0);
	assert_int_equal(net_fake_collect(nb, out, sizeof(out)), 64);
	assert_memory_equal(out, f, 64); /* gathered from both pieces */
	assert_int_equal(net_fake_collect(nb, out, sizeof(out)), -ENOENT);
	/* A full queue: -EAGAIN, nothing sent; tx_ready when room is back. */
	net_fake_set_tx_full(nb, true);
	assert_int_equal(net_send(nb, iov, 2), -EAGAIN);
	assert_int_equal(net_send_batch(nb, frames, 3), 0);
	assert_int_equal(d.tx_wake, 0);
	net_fake_set_tx_full(nb, false);
	assert_int_equal(d.tx_wake, 1);
	assert_int_equal(net_send_batch(nb, frames, 3), 3);
	assert_int_equal(net_fake_collect(nb, out, sizeof(out)), 64);
	assert_int_equal(net_fake_collect(nb, out, sizeof(out)), 64);
	assert_int_equal(net_fake_collect(nb, out, sizeof(out)), 20);
	net_get_stats(nb, &st);
	assert_int_equal(st.tx_frames, 4);
	assert_int_equal(st.tx_bytes, 64 * 3 + 20);
	assert_int_equal(st.tx_full, 2);
	net_close(nb);
}

static void test_net_mac_crc(void **state)
{
	uint8_t mac[6], mac2[6];
	static const char *const bad[] = {
		"",
		"52:54:00:12:34",
		"52:54:00:12:34:5",
		"52:54:00:12:34:567",
		"52:54:00:12:34:5g",
		"01:00:5e:00:00:01",
		"52 54 00 12 34 56",
		"52:54:00:12:34:56:",
	};
	unsigned int i;

	assert_int_equal(net_mac_parse("52:54:00:Ab:cD:ef", mac), 0);
	assert_memory_equal(mac, "\x52\x54\x00\xab\xcd\xef", 6);
	assert_int_equal(net_mac_parse("52-54-00-12-34-56", mac), 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(net_mac_parse(bad[i], mac), -EINVAL);
	/* Stable per (name, index), locally administered unicast. */
	net_mac_generate("web1", 0, mac);
	net_mac_generate("web1", 0, mac2);
	assert_memory_equal(mac, mac2, 6);
	assert_int_equal(mac[0], 0x02);
	net_mac_generate("web1", 1, mac2);
	assert_memory_not_equal(mac, mac2, 6);
	net_mac_generate("web2", 0, mac2);
	assert_memory_not_equal(mac, mac2, 6);
	/* The standard check value of CRC-32/ISO-HDLC. */
	assert_int_equal(net_crc32("123456789", 9), 0xcbf43926u);
	assert_int_equal(net_crc32("", 0), 0);
}

/* Bring @name up with 10.254.N.1/24. */
static int tap_up(const char *name, uint8_t net)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), r = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0afe0001u | (uint32_t)net << 8);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		r = -errno;
	sin->sin_addr.s_addr = htonl(0xffffff00u);
	if (!r && ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		r = -errno;
	if (!r && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!r && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

/* Wait (up to 2 s) for a frame of @ethertype from the host's stack. */
static bool tap_wait(struct net_backend *nb, struct fake_dev *d,
		     uint16_t ethertype)
{
	int i;

	for (i = 0; i < 200; i++) {
		d->got = 0;
		net_poll(nb);
		if (d->got && get_be16(d->last + 12) == ethertype)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * A real TAP: the host's ARP request for 10.254.N.2 reaches the device
 * through the backend (RX), the device's ARP reply goes back (TX) and the
 * host then sends the UDP datagram it was holding to the device's MAC.
 */
static void test_net_tap(void **state)
{
	static const uint8_t dev_mac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	struct net_backend *nb;
	struct fake_dev d = { 0 };
	struct ifreq ifr = { 0 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	uint8_t arp[42], net = (uint8_t)(getpid() % 200 + 20);
	struct iovec iov = { arp, sizeof(arp) };
	char name[IFNAMSIZ];
	int fd, s;

	assert_int_equal(net_tap_open("hvkvm-no-such0", &nb), -ENODEV);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		printf("SKIPPED test_net_tap: /dev/net/tun: %s\n",
		       strerror(errno));
		return;
	}
	snprintf(name, sizeof(name), "hvt%d", (int)getpid() % 100000);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		printf("SKIPPED test_net_tap: cannot create a TAP (%s; needs "
		       "CAP_NET_ADMIN)\n",
		       strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	assert_int_equal(net_tap_open(name, &nb), 0);
	assert_string_equal(net_name(nb) + 4, name);
	assert_int_equal(net_attach(nb, NULL, &dev_ops, &d), 0);
	assert_int_equal(tap_up(name, net), 0);
	/* RX: the host asks who has .2. */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	to.sin_addr.s_addr = htonl(0x0afe0002u | (uint32_t)net << 8);
	assert_int_equal(sendto(s, "hello", 5, 0, (struct sockaddr *)&to,
				sizeof(to)),
			 5);
	assert_true(tap_wait(nb, &d, 0x0806));
	assert_int_equal(get_be16(d.last + 20), 1); /* request */
	assert_memory_equal(d.last + 38, &to.sin_addr, 4);
	/* TX: we have it; the datagram follows to our MAC. */
	memcpy(arp, d.last + 6, 6);
	memcpy(arp + 6, dev_mac, 6);
	put_be16(arp + 12, 0x0806);
	memcpy(arp + 14, d.last + 14, 6); /* htype, ptype, hlen, plen */
	put_be16(arp + 20, 2);		  /* reply */
	memcpy(arp + 22, dev_mac, 6);
	memcpy(arp + 28, &to.sin_addr, 4);
	memcpy(arp + 32, d.last + 22, 10); /* the asker's MAC and IP */
	assert_int_equal(net_send(nb, &iov, 1), 0);
	assert_true(tap_wait(nb, &d, 0x0800));
	assert_memory_equal(d.last, dev_mac, 6);
	assert_int_equal(d.last[23], 17); /* UDP */
	assert_memory_equal(d.last + 42, "hello", 5);
	close(s);
	net_close(nb);
	fd = open("/dev/net/tun", O_RDWR);
	assert_true(fd >= 0);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 0), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_fake_rx_backpressure),
		cmocka_unit_test(test_net_fake_tx),
		cmocka_unit_test(test_net_mac_crc),
		cmocka_unit_test(test_net_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
