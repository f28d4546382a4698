package devhost

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// hostJSON is the part of host.json the dev host honours.
type hostJSON struct {
	Version       string `json:"version"`
	CustomHandler struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		ServiceBus struct {
			MaxConcurrentCalls         int    `json:"maxConcurrentCalls"`
			MaxAutoLockRenewalDuration string `json:"maxAutoLockRenewalDuration"`
		} `json:"serviceBus"`
		Queues struct {
			MaxDequeueCount int `json:"maxDequeueCount"`
			BatchSize       int `json:"batchSize"`
		} `json:"queues"`
	} `json:"extensions"`
}

// Binding is one entry of function.json's bindings.
type Binding struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Direction  string   `json:"direction"`
	Schedule   string   `json:"schedule,omitempty"`
	QueueName  string   `json:"queueName,omitempty"`
	Connection string   `json:"connection,omitempty"`
	AuthLevel  string   `json:"authLevel,omitempty"`
	Methods    []string `json:"methods,omitempty"`
	Route      string   `json:"route,omitempty"`
	RunOnStart bool     `json:"runOnStartup,omitempty"`
}

// Function is one function folder.
type Function struct {
	Name     string
	Bindings []Binding
}

// Trigger returns the function's trigger binding.
func (f Function) Trigger() (Binding, bool) {
	for _, b := range f.Bindings {
		if strings.HasSuffix(b.Type, "Trigger") && b.Direction == "in" {
			return b, true
		}
	}
	return Binding{}, false
}

// App is a loaded app folder.
type App struct {
	Root      string
	Host      hostJSON
	Functions []Function
	// Settings are the Values of local.settings.json, if present.
	Settings map[string]string
}

// LoadApp reads host.json and every <Function>/function.json under root.
func LoadApp(root string) (*App, error) {
	a := &App{Root: root, Settings: map[string]string{}}
	raw, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return nil, fmt.Errorf("app folder %s: %w (build it with make build)", root, err)
	}
	if err := json.Unmarshal(raw, &a.Host); err != nil {
		return nil, fmt.Errorf("%s/host.json: %w", root, err)
	}
	if a.Host.CustomHandler.Description.DefaultExecutablePath == "" {
		return nil, fmt.Errorf("%s/host.json: customHandler.description.defaultExecutablePath is not set", root)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(root, e.Name(), "function.json"))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		var fj struct {
			Bindings []Binding `json:"bindings"`
			Disabled bool      `json:"disabled"`
		}
		if err := json.Unmarshal(raw, &fj); err != nil {
			return nil, fmt.Errorf("%s/function.json: %w", e.Name(), err)
		}
		if fj.Disabled {
			continue
		}
		f := Function{Name: e.Name(), Bindings: fj.Bindings}
		if _, ok := f.Trigger(); !ok {
			return nil, fmt.Errorf("%s/function.json: no trigger binding", e.Name())
		}
		a.Functions = append(a.Functions, f)
	}
	if len(a.Functions) == 0 {
		return nil, fmt.Errorf("app folder %s holds no function folders", root)
	}
	sort.Slice(a.Functions, func(i, j int) bool { return a.Functions[i].Name < a.Functions[j].Name })
	if raw, err := os.ReadFile(filepath.Join(root, "local.settings.json")); err == nil {
		var ls struct {
			Values map[string]string `json:"Values"`
		}
		if err := json.Unmarshal(raw, &ls); err != nil {
			return nil, fmt.Errorf("%s/local.settings.json: %w", root, err)
		}
		a.Settings = ls.Values
	}
	return a, nil
}

// HandlerPath is the executable host.json names, resolved against the root.
func (a *App) HandlerPath() string {
	p := a.Host.CustomHandler.Description.DefaultExecutablePath
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(a.Root, p)
}

// Function returns the function called name.
func (a *App) Function(name string) (Function, bool) {
	for _, f := range a.Functions {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Function{}, false
}

// lockRenewal is how long the host keeps renewing the lock of a message whose
// invocation is still running (extensions.serviceBus.maxAutoLockRenewalDuration,
// a .NET TimeSpan "hh:mm:ss"); default 5 minutes, as in the Service Bus extension.
func (a *App) lockRenewal() (time.Duration, error) {
	v := a.Host.Extensions.ServiceBus.MaxAutoLockRenewalDuration
	if v == "" {
		return 5 * time.Minute, nil
	}
	var h, m, s int
	if _, err := fmt.Sscanf(v, "%d:%d:%d", &h, &m, &s); err != nil || m > 59 || s > 59 || h < 0 || m < 0 || s < 0 {
		return 0, fmt.Errorf("host.json: extensions.serviceBus.maxAutoLockRenewalDuration %q is not hh:mm:ss", v)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second, nil
}

// resolve replaces %Setting% references as the host does for schedules and
// queue names.
func resolve(v string, lookup func(string) (string, bool)) (string, error) {
	if len(v) > 2 && strings.HasPrefix(v, "%") && strings.HasSuffix(v, "%") {
		name := v[1 : len(v)-1]
		s, ok := lookup(name)
		if !ok || s == "" {
			return "", fmt.Errorf("app setting %s is referenced as %s but not set", name, v)
		}
		return s, nil
	}
	return v, nil
}
