/*
 * SPDX-License-Identifier: MIT
 * A tiny Multiboot v1 test kernel for hvkvm's platform tests. It runs in
 * 32-bit protected mode, prints what it sees on COM1 and ends the VM the way
 * its command line asks: "s5" (ACPI PM1a_CNT SLP_TYP=5|SLP_EN), "reset"
 * (0xCF9 <- 6), "kbdreset" (i8042 0xFE), "triple" (load an empty IDT and
 * fault), "echo" (echo COM1 input until 'q'), "crash" (report a crash
 * through the Hyper-V crash MSRs, then halt), "crashreset" (report it, then
 * reset through 0xCF9), "hypercall" (enable the Hyper-V hypercall page, make
 * two 32-bit-ABI calls through it and print their status, then leave like
 * the default), otherwise the debug-exit port 0xf4 with value 0x21.
 * Checks printed: multiboot magic, fw_cfg signature and CPU count, CMOS
 * seconds register readable, e820-style memory from the multiboot info.
 */
	.set MB_MAGIC, 0x1badb002
	.set MB_FLAGS, 0x00000003
	.set COM1, 0x3f8

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	movl $stack_top, %esp
	movl %ebx, mbi
	cmpl $0x2badb002, %eax
	jne bad_magic
	movl $msg_hello, %esi
	call puts

	/* fw_cfg: select 0 (signature), read 4 bytes. */
	movw $0x510, %dx
	xorw %ax, %ax
	outw %ax, %dx
	movw $0x511, %dx
	movl $4, %ecx
	movl $msg_fwsig, %esi
	call puts
1:	inb %dx, %al
	call putc
	loop 1b
	call newline

	/* fw_cfg 0x05: number of CPUs (le16). */
	movw $0x510, %dx
	movw $0x05, %ax
	outw %ax, %dx
	movw $0x511, %dx
	inb %dx, %al
	movl $msg_cpus, %esi
	call puts
	call puthex8
	call newline

	/* Multiboot mem_upper (KiB above 1 MiB). */
	movl mbi, %ebx
	movl 8(%ebx), %eax
	movl $msg_mem, %esi
	call puts
	call puthex32
	call newline

	/* Command line: decide how to leave. */
	movl 16(%ebx), %esi
	movl %esi, cmdline
	movl $msg_cmd, %esi
	call puts
	movl cmdline, %esi
	call puts
	call newline

	movl cmdline, %esi
	movl $kw_s5, %edi
	call startswith
	jz do_s5
	movl cmdline, %esi
	movl $kw_kbd, %edi
	call startswith
	jz do_kbdreset
	movl cmdline, %esi
	movl $kw_reset, %edi
	call startswith
	jz do_reset
	movl cmdline, %esi
	movl $kw_triple, %edi
	call startswith
	jz do_triple
	movl cmdline, %esi
	movl $kw_echo, %edi
	call startswith
	jz do_echo
	movl cmdline, %esi
	movl $kw_crashreset, %edi
	call startswith
	jz do_crashreset
	movl cmdline, %esi
	movl $kw_crashmsg, %edi
	call startswith
	jz do_crashmsg
	movl cmdline, %esi
	movl $kw_crash, %edi
	call startswith
	jz do_crash
	movl cmdline, %esi
	movl $kw_hypercall, %edi
	call startswith
	jnz 1f
	call do_hypercall
1:	movl $msg_exit, %esi
	call puts
	movw $0xf4, %dx
	movl $0x21, %eax
	outl %eax, %dx
	jmp halt

do_s5:
	movl $msg_s5, %esi
	call puts
	movw $0x604, %dx
	movw $((5 << 10) | (1 << 13)), %ax
	outw %ax, %dx
	jmp halt
do_reset:
	movw $0xcf9, %dx
	movb $0x06, %al
	outb %al, %dx
	jmp halt
do_kbdreset:
	movb $0xfe, %al
	outb %al, $0x64
	jmp halt
/* Echo COM1 input until 'q', then debug-exit 0x21. */
do_echo:
	movl $msg_echo, %esi
	call puts
1:	movw $(COM1 + 5), %dx
	inb %dx, %al
	testb $0x01, %al
	jz 1b
	movw $COM1, %dx
	inb %dx, %al
	call putc
	cmpb $'q', %al
	jne 1b
	call newline
	movw $0xf4, %dx
	movl $0x21, %eax
	outl %eax, %dx
	jmp halt
/*
 * Hyper-V crash report as Windows makes one: P0 the bugcheck code, P1-P4
 * its parameters, then CRASH_CTL.CrashNotify (bit 63).
 */
report_crash:
	movl $msg_crash, %esi
	call puts
	movl $0x40000100, %ecx		/* HV_X64_MSR_CRASH_P0 */
	movl $0x1e, %eax		/* KMODE_EXCEPTION_NOT_HANDLED */
	xorl %edx, %edx
1:	wrmsr
	incl %ecx
	movl %ecx, %eax			/* P1..P4 = 0x11 * n, high word 0xc0de */
	subl $0x40000100, %eax
	imull $0x11, %eax
	movl $0xc0de, %edx
	cmpl $0x40000105, %ecx
	jne 1b
	xorl %eax, %eax			/* CRASH_CTL (0x40000105) */
	movl $0x80000000, %edx
	wrmsr
	ret
/*
 * The hypercall page from 32-bit protected mode (32-bit ABI: EDX:EAX =
 * control, EBX:ECX = input, EDI:ESI = output, status in EDX:EAX). The
 * page's prologue must send a 32-bit caller to the general trap even for
 * what a 64-bit caller would take the signal port for: a fast
 * HvSignalEvent (0x1005d) on an unregistered connection (0x7777) answers
 * INVALID_CONNECTION_ID (0x12); an unknown call code (0xffff) answers
 * INVALID_HYPERCALL_CODE (2).
 */
do_hypercall:
	movl $0x40000000, %ecx		/* HV_X64_MSR_GUEST_OS_ID */
	movl $0x1, %eax
	movl $0x81000000, %edx		/* open source, any OS */
	wrmsr
	movl $0x40000001, %ecx		/* HV_X64_MSR_HYPERCALL */
	movl $(hcpage + 1), %eax	/* GPA | Enable */
	xorl %edx, %edx
	wrmsr
	movl $0x1005d, %eax		/* HvSignalEvent | fast */
	xorl %edx, %edx
	movl $0x7777, %ecx		/* connection ID */
	xorl %ebx, %ebx			/* flag 0 */
	call hcpage
	movl $msg_hc_signal, %esi
	call puts
	call puthex32
	call newline
	movl $0xffff, %eax		/* no such call */
	xorl %edx, %edx
	xorl %ecx, %ecx
	xorl %ebx, %ebx
	xorl %esi, %esi
	xorl %edi, %edi
	call hcpage
	movl $msg_hc_bad, %esi
	call puts
	call puthex32
	call newline
	ret
/* CrashNotifyMsg: P3 = the message's address, P4 = its length. */
do_crashmsg:
	movl $msg_crash, %esi
	call puts
	xorl %eax, %eax
	xorl %edx, %edx
	movl $0x40000100, %ecx		/* P0..P2 = 0, as Linux sends them */
1:	wrmsr
	incl %ecx
	cmpl $0x40000103, %ecx
	jne 1b
	movl $crash_text, %eax		/* P3 */
	wrmsr
	incl %ecx
	movl $(crash_text_end - crash_text), %eax	/* P4 */
	wrmsr
	incl %ecx			/* CRASH_CTL: Notify | NotifyMsg */
	xorl %eax, %eax
	movl $0xc0000000, %edx
	wrmsr
	jmp halt
do_crash:
	call report_crash
	jmp halt
do_crashreset:
	call report_crash
	movw $0xcf9, %dx
	movb $0x06, %al
	outb %al, %dx
	jmp halt
do_triple:
	lidt null_idt
	int $3
	jmp halt
bad_magic:
	movl $msg_badmagic, %esi
	call puts
halt:
	cli
	hlt
	jmp halt

/* ZF set if the NUL-terminated string at %edi is a prefix of %esi. */
startswith:
1:	movb (%edi), %al
	testb %al, %al
	jz 2f
	cmpb (%esi), %al
	jne 3f
	incl %esi
	incl %edi
	jmp 1b
2:	xorl %eax, %eax		/* sets ZF */
	ret
3:	orl $1, %eax		/* clears ZF */
	ret

puts:
	pushl %eax
1:	lodsb
	testb %al, %al
	jz 2f
	call putc
	jmp 1b
2:	popl %eax
	ret

newline:
	pushl %eax
	movb $'\n', %al
	call putc
	popl %eax
	ret

putc:
	pushl %edx
	pushl %eax
	movw $(COM1 + 5), %dx
1:	inb %dx, %al
	testb $0x20, %al
	jz 1b
	popl %eax
	movw $COM1, %dx
	outb %al, %dx
	popl %edx
	ret

puthex32:
	pushl %ecx
	pushl %eax
	movl $8, %ecx
1:	roll $4, %eax
	pushl %eax
	andb $0xf, %al
	call nibble
	popl %eax
	loop 1b
	popl %eax
	popl %ecx
	ret

puthex8:
	pushl %eax
	pushl %eax
	shrb $4, %al
	call nibble
	popl %eax
	andb $0xf, %al
	call nibble
	popl %eax
	ret

nibble:
	andb $0xf, %al
	addb $'0', %al
	cmpb $'9', %al
	jbe 1f
	addb $7, %al
1:	jmp putc

	.data
msg_hello:	.asciz "mbtest: multiboot magic ok\n"
msg_badmagic:	.asciz "mbtest: BAD multiboot magic\n"
msg_fwsig:	.asciz "mbtest: fw_cfg signature "
msg_cpus:	.asciz "mbtest: fw_cfg cpus 0x"
msg_mem:	.asciz "mbtest: mem_upper KiB 0x"
msg_cmd:	.asciz "mbtest: cmdline "
msg_exit:	.asciz "mbtest: debug-exit\n"
msg_s5:		.asciz "mbtest: ACPI S5\n"
kw_s5:		.asciz "s5"
kw_reset:	.asciz "reset"
kw_kbd:		.asciz "kbdreset"
kw_triple:	.asciz "triple"
kw_echo:	.asciz "echo"
msg_echo:	.asciz "mbtest: echo> "
msg_crash:	.asciz "mbtest: crash\n"
kw_crash:	.asciz "crash"
kw_crashmsg:	.asciz "crashmsg"
crash_text:	.ascii "mbtest panic: first line\n\tsecond line \x01\x7f\n"
crash_text_end:
kw_crashreset:	.asciz "crashreset"
kw_hypercall:	.asciz "hypercall"
msg_hc_signal:	.asciz "mbtest: hypercall signal-event status 0x"
msg_hc_bad:	.asciz "mbtest: hypercall bad-code status 0x"
	.align 8
null_idt:	.word 0
		.long 0
mbi:		.long 0
cmdline:	.long 0

	.bss
	.align 16
	.space 4096
stack_top:
	.align 4096
hcpage:	.space 4096			/* the Hyper-V hypercall page */
