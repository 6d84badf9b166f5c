package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AWS emulates the ECS, EventBridge and EventBridge Scheduler API calls
// switcharoo makes, in their JSON wire formats, on one loopback endpoint
// (aws.endpoints.ecs, .events and .scheduler all point at URL), so that
// the real aws-sdk-go-v2 clients can be tested against it.
//
// It is a small ECS: a task is a local process started from its task
// definition's first container (its command, with its environment). A
// service keeps desiredCount tasks of its primary deployment running; a
// new deployment starts new tasks, and stops the old ones once a new task
// has stayed up for TaskHealthyAfter; tasks of a new deployment that exit
// before that trip the circuit breaker after three failures, and the
// service rolls back to the previous deployment. EventBridge rules and
// Scheduler schedules with a rate() expression really run their ECS target
// on their schedule while enabled (rate may be given in seconds here).
type AWS struct {
	URL string
	// TaskHealthyAfter is how long a task must stay up to count as
	// started; one that exits sooner is a failed start.
	TaskHealthyAfter time.Duration
	// Dir holds the tasks' output logs.
	Dir string

	mu        sync.Mutex
	clusters  map[string]*ecsCluster
	taskDefs  map[string][]*ecsTaskDef // by family, revision order
	rules     map[string]*ebRule       // by bus/name
	schedules map[string]*schedule     // by group/name
	seq       int

	http    *http.Server
	stop    chan struct{}
	stopped sync.WaitGroup
}

// region and account of every ARN the emulator makes.
const (
	emuRegion  = "us-east-1"
	emuAccount = "123456789012"
)

// StartAWS starts the emulator; Close stops it and every task it runs.
func StartAWS(dir string) (*AWS, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
	if err != nil {
		return nil, fmt.Errorf("aws emulator: %w", err)
	}
	e := &AWS{
		URL:              "http://" + l.Addr().String(),
		TaskHealthyAfter: time.Second,
		Dir:              dir,
		clusters:         map[string]*ecsCluster{},
		taskDefs:         map[string][]*ecsTaskDef{},
		rules:            map[string]*ebRule{},
		schedules:        map[string]*schedule{},
		stop:             make(chan struct{}),
	}
	e.http = &http.Server{Handler: http.HandlerFunc(e.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.http.Serve(l) }()
	e.stopped.Go(e.loop)
	return e, nil
}

// Close stops the API, the scheduler loop and every task.
func (e *AWS) Close() {
	_ = e.http.Close()
	close(e.stop)
	e.stopped.Wait()
	e.mu.Lock()
	var tasks []*ecsTask
	for _, c := range e.clusters {
		tasks = append(tasks, c.tasks...)
	}
	e.mu.Unlock()
	e.mu.Lock()
	for _, t := range tasks {
		t.kill("emulator closed")
	}
	e.mu.Unlock()
	for _, t := range tasks {
		<-t.done // SIGKILL follows SIGTERM within five seconds
	}
}

// loop reconciles services and fires schedules ten times a second.
func (e *AWS) loop() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		e.mu.Lock()
		e.reconcile()
		e.fire()
		e.mu.Unlock()
	}
}

func (e *AWS) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		awsError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/schedules/") {
		e.serveScheduler(w, r, body)
		return
	}
	service, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	switch service {
	case "AmazonEC2ContainerServiceV20141113":
		e.serveECS(w, op, body)
	case "AWSEvents":
		e.serveEvents(w, op, body)
	default:
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "the emulator does not implement "+r.Header.Get("X-Amz-Target")+" "+r.URL.Path)
	}
}

// decode reads a JSON request body.
func decode(w http.ResponseWriter, body []byte, v any) bool {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		awsError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

// awsError writes an error the way the JSON protocols do: the code in a
// header and in the body.
func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg, "Message": msg})
}

func (e *AWS) next() int {
	e.seq++
	return e.seq
}

func epoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// lastSegment returns what follows the last "/" or ":" of an ARN or name.
func lastSegment(s string) string {
	if i := strings.LastIndexAny(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}
