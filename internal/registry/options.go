package registry

import "sync"

// Logger receives what the engine wants an operator to be able to audit; the provider plugs
// tflog in. Fields are plain values. The engine calls it from one goroutine at a time.
type Logger func(msg string, fields map[string]any)

// Option tunes Mirror, Check and Remove.
type Option func(*options)

type options struct {
	jobs   int
	logger Logger
	logMu  *sync.Mutex // parallel jobs log; a Logger need not be safe for concurrent use
}

// DefaultJobs bounds parallel work. Four streaming bodies keep a registry on the same two-core
// node busy without starving it: the registry hashes and writes every byte we send.
const DefaultJobs = 4

// WithJobs sets how many blob bodies stream at once (as many more uploads may be waiting for the
// registry to commit theirs), and how many manifests and lookups are sent at once.
func WithJobs(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.jobs = n
		}
	}
}

// WithLogger sends the engine's audit lines to l.
func WithLogger(l Logger) Option {
	return func(o *options) { o.logger = l }
}

func newOptions(opts []Option) options {
	o := options{jobs: DefaultJobs, logMu: &sync.Mutex{}}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func (o options) log(msg string, fields map[string]any) {
	if o.logger != nil {
		o.logMu.Lock()
		defer o.logMu.Unlock()
		o.logger(msg, fields)
	}
}
