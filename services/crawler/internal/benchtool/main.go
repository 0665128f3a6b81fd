// Command benchtool is scripts/bench.sh's helper. `benchtool floor REF`
// reads and decompresses every layer of an image to a discarding sink, the
// least work any crawler must do. `benchtool shared DSN BASE REF` crawls
// REF, an image sharing BASE's layers, with the
// PostgreSQL layer cache at DSN warmed by one crawl of BASE; it prints the
// time of the second crawl alone. `benchtool
// rusage CMD ARGS...` runs a command and prints its peak RSS. Each prints
// "seconds peak_rss_kib" on one line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/klauspost/compress/zstd"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"go.podman.io/image/v5/types"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: benchtool floor REF | shared DSN BASE REF | rusage CMD...")
	}
	start := time.Now()
	var err error
	switch args[0] {
	case "floor":
		err = floor(ctx, args[1])
	case "shared":
		if len(args) != 4 {
			return fmt.Errorf("usage: benchtool shared DSN BASE REF")
		}
		var d time.Duration
		d, err = shared(ctx, args[1], args[2], args[3])
		start = time.Now().Add(-d)
	case "rusage":
		return rusage(args[1:])
	default:
		return fmt.Errorf("unknown mode %q", args[0])
	}
	if err != nil {
		return err
	}
	fmt.Printf("%.4f %d\n", time.Since(start).Seconds(), peakRSS())
	return nil
}

// floor reads every layer of ref once, decompressed, into io.Discard.
func floor(ctx context.Context, ref string) error {
	ir, err := parse(ref)
	if err != nil {
		return err
	}
	sys := &types.SystemContext{OSChoice: "linux", ArchitectureChoice: "amd64"}
	src, err := ir.NewImageSource(ctx, sys)
	if err != nil {
		return fmt.Errorf("open %s: %w", ref, err)
	}
	defer src.Close()
	img, err := image.FromSource(ctx, sys, src)
	if err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	for _, l := range img.LayerInfos() {
		if err := drain(ctx, src, l); err != nil {
			return err
		}
	}
	return nil
}

// parse reads the references crawlspace crawl accepts.
func parse(ref string) (types.ImageReference, error) {
	if rest, ok := strings.CutPrefix(ref, "oci:"); ok {
		return layout.ParseReference(rest)
	}
	if rest, ok := strings.CutPrefix(ref, "docker-archive:"); ok {
		return archive.ParseReference(rest)
	}
	return docker.ParseReference(strings.TrimPrefix(ref, "docker:"))
}

// drain reads one blob, decompressing it by its first bytes.
func drain(ctx context.Context, src types.ImageSource, l types.BlobInfo) error {
	rc, _, err := src.GetBlob(ctx, l, none.NoCache)
	if err != nil {
		return fmt.Errorf("fetch layer %s: %w", l.Digest, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	magic, _ := br.Peek(4)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		r = zr
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	_, err = io.Copy(io.Discard, r)
	return err
}

// rusage runs a command, discarding its output, and prints its wall time
// and peak RSS.
func rusage(argv []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("run %s: %w", argv[0], err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var kib int64
	if ru != nil {
		kib = ru.Maxrss
	}
	fmt.Printf("%.4f %d\n", time.Since(start).Seconds(), kib)
	return nil
}

// peakRSS returns this process's VmHWM in KiB.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kib)
			return kib
		}
	}
	return 0
}
