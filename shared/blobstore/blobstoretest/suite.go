package blobstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// Open returns a store and a container name no other subtest uses.
type Open func(t *testing.T) (blobstore.Store, string)

// Run runs the suite; open is called once per subtest.
func Run(t *testing.T, open Open) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, blobstore.Store, string)
	}{
		{"Missing", testMissing},
		{"PutGetStat", testPutGetStat},
		{"Overwrite", testOverwrite},
		{"IfNotExists", testIfNotExists},
		{"LargeBlob", testLargeBlob},
		{"List", testList},
		{"Delete", testDelete},
		{"Cancelled", testCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := open(t)
			tc.fn(t, s, c)
		})
	}
}

func put(t *testing.T, s blobstore.Store, c, n, data string) blobstore.Info {
	t.Helper()
	in, err := s.Put(context.Background(), c, n, strings.NewReader(data), &blobstore.PutOptions{ContentType: "text/plain"})
	if err != nil {
		t.Fatalf("put %s: %v", n, err)
	}
	return in
}

func read(t *testing.T, s blobstore.Store, c, n string) string {
	t.Helper()
	rc, err := s.Get(context.Background(), c, n)
	if err != nil {
		t.Fatalf("get %s: %v", n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", n, err)
	}
	return string(b)
}

func testMissing(t *testing.T, s blobstore.Store, c string) {
	ctx := context.Background()
	for _, cont := range []string{c, c + "none"} { // missing blob, then missing container
		if _, err := s.Get(ctx, cont, "a"); !errors.Is(err, blobstore.ErrNotFound) {
			t.Errorf("get in %s: %v, want ErrNotFound", cont, err)
		}
		if _, err := s.Stat(ctx, cont, "a"); !errors.Is(err, blobstore.ErrNotFound) {
			t.Errorf("stat in %s: %v, want ErrNotFound", cont, err)
		}
		if err := s.Delete(ctx, cont, "a"); err != nil {
			t.Errorf("delete in %s: %v, want success", cont, err)
		}
		all, err := blobstore.Collect(s.List(ctx, cont, ""))
		if err != nil || len(all) != 0 {
			t.Errorf("list of %s: %v %v, want nothing", cont, all, err)
		}
	}
}

func testPutGetStat(t *testing.T, s blobstore.Store, c string) {
	before := time.Now().Add(-time.Minute)
	in := put(t, s, c, "dir/a.txt", "hello")
	if in.Name != "dir/a.txt" || in.Size != 5 || in.ETag == "" {
		t.Fatalf("put returned %+v", in)
	}
	if got := read(t, s, c, "dir/a.txt"); got != "hello" {
		t.Fatalf("read back %q", got)
	}
	st, err := s.Stat(context.Background(), c, "dir/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != 5 || st.ETag != in.ETag || st.LastModified.Before(before) || st.LastModified.After(time.Now().Add(time.Minute)) {
		t.Fatalf("stat %+v after put %+v", st, in)
	}
	// An empty blob is a blob.
	if in := put(t, s, c, "empty", ""); in.Size != 0 {
		t.Fatalf("empty blob size %d", in.Size)
	}
	if got := read(t, s, c, "empty"); got != "" {
		t.Fatalf("empty blob read %q", got)
	}
}

func testOverwrite(t *testing.T, s blobstore.Store, c string) {
	a := put(t, s, c, "x", "one")
	b := put(t, s, c, "x", "second")
	if a.ETag == b.ETag || b.Size != 6 {
		t.Fatalf("overwrite: ETags %q then %q, size %d", a.ETag, b.ETag, b.Size)
	}
	if got := read(t, s, c, "x"); got != "second" {
		t.Fatalf("read %q after overwrite", got)
	}
}

func testIfNotExists(t *testing.T, s blobstore.Store, c string) {
	ctx := context.Background()
	o := &blobstore.PutOptions{IfNotExists: true}
	if _, err := s.Put(ctx, c, "once", strings.NewReader("first"), o); err != nil {
		t.Fatalf("first put: %v", err)
	}
	if _, err := s.Put(ctx, c, "once", strings.NewReader("second"), o); !errors.Is(err, blobstore.ErrExists) {
		t.Fatalf("second put: %v, want ErrExists", err)
	}
	if got := read(t, s, c, "once"); got != "first" {
		t.Fatalf("refused put changed the blob to %q", got)
	}
}

func testLargeBlob(t *testing.T, s blobstore.Store, c string) {
	// Over two upload blocks, streamed from a reader of unknown length.
	data := make([]byte, 5<<20+123)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	in, err := s.Put(context.Background(), c, "big", io.MultiReader(bytes.NewReader(data[:1<<20]), bytes.NewReader(data[1<<20:])), nil)
	if err != nil {
		t.Fatal(err)
	}
	if in.Size != int64(len(data)) {
		t.Fatalf("put size %d, want %d", in.Size, len(data))
	}
	if got := read(t, s, c, "big"); got != string(data) {
		t.Fatalf("large blob read back differs (%d bytes)", len(got))
	}
}

func testList(t *testing.T, s blobstore.Store, c string) {
	ctx := context.Background()
	names := []string{"b/2", "a/1", "b/1", "b/10", "c", "bb/1"}
	for _, n := range names {
		put(t, s, c, n, "data-"+n)
	}
	for _, tc := range []struct{ prefix, want string }{
		{"", "a/1 b/1 b/10 b/2 bb/1 c"},
		{"b/", "b/1 b/10 b/2"},
		{"b", "b/1 b/10 b/2 bb/1"},
		{"b/1", "b/1 b/10"},
		{"z", ""},
	} {
		all, err := blobstore.Collect(s.List(ctx, c, tc.prefix))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range all {
			got = append(got, in.Name)
			if in.Size != int64(len("data-"+in.Name)) || in.ETag == "" || in.LastModified.IsZero() {
				t.Errorf("listed %+v: size, ETag or time missing", in)
			}
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("list %q = %q, want %q", tc.prefix, strings.Join(got, " "), tc.want)
		}
	}
	// Stopping the loop stops the listing.
	n := 0
	for _, err := range s.List(ctx, c, "") {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("break after 2 yielded %d", n)
	}
	// A blob deleted while the listing runs does not break it.
	var seen []string
	for in, err := range s.List(ctx, c, "b/") {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, in.Name)
		if err := s.Delete(ctx, c, in.Name); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(seen) != "[b/1 b/10 b/2]" {
		t.Fatalf("delete while listing saw %v", seen)
	}
}

func testDelete(t *testing.T, s blobstore.Store, c string) {
	ctx := context.Background()
	put(t, s, c, "d", "x")
	if err := s.Delete(ctx, c, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, c, "d"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("stat after delete: %v", err)
	}
	if err := s.Delete(ctx, c, "d"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func testCancelled(t *testing.T, s blobstore.Store, c string) {
	put(t, s, c, "k", "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(ctx, c, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("get with a cancelled context: %v", err)
	}
	if _, err := s.Put(ctx, c, "k2", strings.NewReader("y"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("put with a cancelled context: %v", err)
	}
	for _, err := range s.List(ctx, c, "") {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("list with a cancelled context: %v", err)
		}
		break
	}
}
