package sandbox

import (
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Route53 emulates the Route 53 API calls switcharoo makes, in Route 53's
// REST/XML wire format, so that the real aws-sdk-go-v2 client can be
// tested against it: ListHostedZonesByName, GetHostedZone,
// ListResourceRecordSets, ChangeResourceRecordSets (validated all or
// nothing, with Route 53's error codes) and GetChange (PENDING, then
// INSYNC after InsyncAfter). It serves its zones over DNS on a loopback
// port, where a change becomes visible when it is INSYNC.
type Route53 struct {
	// URL is the API's base endpoint (aws.endpoints.route53).
	URL string
	// DNSAddr is host:port of its authoritative DNS server.
	DNSAddr string
	// InsyncAfter is how long a change stays PENDING.
	InsyncAfter time.Duration

	mu       sync.Mutex
	zones    []*r53Zone
	changes  map[string]*r53Change
	throttle int // the next requests answered with Throttling
	deny     int // the next changes answered with AccessDenied
	requests int

	http *http.Server
	udp  *dns.Server
	tcp  *dns.Server
}

type r53Zone struct {
	id, name string          // name fully qualified, lower case
	records  []*R53RecordSet // as the API sees them
	served   []*R53RecordSet // as the DNS server answers
}

type r53Change struct {
	id        string
	submitted time.Time
	zone      *r53Zone
	records   []*R53RecordSet // the zone's records after the change
	served    bool
}

// R53RecordSet is one record set of an emulated zone.
type R53RecordSet struct {
	Name   string
	Type   string
	TTL    int64
	Values []string
	Alias  *R53Alias
}

// R53Alias is an alias target.
type R53Alias struct {
	HostedZoneID         string
	DNSName              string
	EvaluateTargetHealth bool
}

const r53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

// listenDNS listens on one free port for both UDP and TCP: the UDP port
// the kernel picks may be taken for TCP, so it tries a few.
func listenDNS(host string) (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp", net.JoinHostPort(host, "0")); err != nil {
			return nil, nil, err
		}
		var l net.Listener
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			return pc, l, nil
		}
		pc.Close()
	}
	return nil, nil, fmt.Errorf("no port free for both UDP and TCP: %w", err)
}

// StartRoute53 starts the emulator's API and DNS servers on loopback ports.
func StartRoute53() (*Route53, error) {
	e := &Route53{changes: map[string]*r53Change{}}
	api, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
	if err != nil {
		return nil, fmt.Errorf("route53 emulator: %w", err)
	}
	e.URL = "http://" + api.Addr().String()
	e.http = &http.Server{Handler: http.HandlerFunc(e.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.http.Serve(api) }()

	pc, l, err := listenDNS(Host)
	if err != nil {
		api.Close()
		return nil, fmt.Errorf("route53 emulator: %w", err)
	}
	e.DNSAddr = pc.LocalAddr().String()
	handler := dns.HandlerFunc(e.serveDNS)
	e.udp = &dns.Server{PacketConn: pc, Handler: handler}
	e.tcp = &dns.Server{Listener: l, Handler: handler}
	go func() { _ = e.udp.ActivateAndServe() }()
	go func() { _ = e.tcp.ActivateAndServe() }()
	return e, nil
}

// Close stops the servers.
func (e *Route53) Close() {
	_ = e.http.Close()
	_ = e.udp.Shutdown()
	_ = e.tcp.Shutdown()
}

// AddZone creates a public hosted zone with records and returns its ID.
func (e *Route53) AddZone(name string, records ...R53RecordSet) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	z := &r53Zone{id: fmt.Sprintf("Z%013d", len(e.zones)+1), name: strings.ToLower(dns.Fqdn(name))}
	for _, r := range records {
		r.Name = strings.ToLower(dns.Fqdn(r.Name))
		z.records = append(z.records, &r)
	}
	z.served = z.records
	e.zones = append(e.zones, z)
	return z.id
}

// Throttle answers the next n API requests with Throttling.
func (e *Route53) Throttle(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttle = n
}

// DenyChanges answers the next n ChangeResourceRecordSets requests with
// AccessDenied, as Route 53 does when the credentials lack the permission.
func (e *Route53) DenyChanges(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deny = n
}

// Requests counts the API requests received.
func (e *Route53) Requests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests
}

// Records returns a zone's record sets as the API sees them.
func (e *Route53) Records(zoneID string) []R53RecordSet {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []R53RecordSet
	if z := e.zone(zoneID); z != nil {
		for _, r := range z.records {
			out = append(out, *r)
		}
	}
	return out
}

// SetRecord replaces (or adds) a record set of a zone at once, API and
// DNS alike, as another client of the zone would have changed it a while
// ago: infrastructure as code putting a TTL back up, say.
func (e *Route53) SetRecord(zoneID string, r R53RecordSet) {
	e.mu.Lock()
	defer e.mu.Unlock()
	z := e.zone(zoneID)
	if z == nil {
		return
	}
	r.Name = strings.ToLower(dns.Fqdn(r.Name))
	records := slices.DeleteFunc(slices.Clone(z.records), func(x *R53RecordSet) bool { return x.Name == r.Name && x.Type == r.Type })
	z.records = append(records, &r)
	z.served = z.records
}

func (e *Route53) zone(id string) *r53Zone {
	id = strings.TrimPrefix(id, "/hostedzone/")
	for _, z := range e.zones {
		if z.id == id {
			return z
		}
	}
	return nil
}

func (e *Route53) serveHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests++
	e.promote()
	if e.throttle > 0 {
		e.throttle--
		writeR53Error(w, http.StatusBadRequest, "Throttling", "Rate exceeded")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/2013-04-01/")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && parts[0] == "hostedzonesbyname":
		e.listZonesByName(w, r)
	case r.Method == http.MethodGet && parts[0] == "hostedzone" && len(parts) == 2:
		e.getZone(w, parts[1])
	case r.Method == http.MethodGet && parts[0] == "hostedzone" && len(parts) == 3 && parts[2] == "rrset":
		e.listRecords(w, r, parts[1])
	case r.Method == http.MethodPost && parts[0] == "hostedzone" && len(parts) == 3 && parts[2] == "rrset":
		e.changeRecords(w, r, parts[1])
	case r.Method == http.MethodGet && parts[0] == "change" && len(parts) == 2:
		e.getChange(w, parts[1])
	default:
		writeR53Error(w, http.StatusBadRequest, "InvalidAction", "the emulator does not implement "+r.Method+" "+r.URL.Path)
	}
}

// promote makes the changes that are INSYNC visible over DNS.
func (e *Route53) promote() {
	var pending []*r53Change
	for _, c := range e.changes {
		if !c.served && time.Since(c.submitted) >= e.InsyncAfter {
			pending = append(pending, c)
		}
	}
	slices.SortFunc(pending, func(a, b *r53Change) int { return a.submitted.Compare(b.submitted) })
	for _, c := range pending {
		c.zone.served = c.records
		c.served = true
	}
}

type xmlZone struct {
	ID              string `xml:"Id"`
	Name            string `xml:"Name"`
	CallerReference string `xml:"CallerReference"`
	Config          struct {
		PrivateZone bool `xml:"PrivateZone"`
	} `xml:"Config"`
	ResourceRecordSetCount int `xml:"ResourceRecordSetCount"`
}

func (z *r53Zone) xml() xmlZone {
	return xmlZone{ID: "/hostedzone/" + z.id, Name: z.name, CallerReference: z.id, ResourceRecordSetCount: len(z.records)}
}

func (e *Route53) listZonesByName(w http.ResponseWriter, r *http.Request) {
	name := strings.ToLower(dns.Fqdn(r.URL.Query().Get("dnsname")))
	type resp struct {
		XMLName     xml.Name  `xml:"ListHostedZonesByNameResponse"`
		XMLNS       string    `xml:"xmlns,attr"`
		HostedZones []xmlZone `xml:"HostedZones>HostedZone"`
		DNSName     string    `xml:"DNSName"`
		IsTruncated bool      `xml:"IsTruncated"`
		MaxItems    string    `xml:"MaxItems"`
	}
	out := resp{XMLNS: r53NS, DNSName: name, MaxItems: "100"}
	zones := slices.Clone(e.zones)
	slices.SortFunc(zones, func(a, b *r53Zone) int { return strings.Compare(reverseName(a.name), reverseName(b.name)) })
	for _, z := range zones {
		if reverseName(z.name) >= reverseName(name) {
			out.HostedZones = append(out.HostedZones, z.xml())
		}
	}
	writeXML(w, out)
}

func (e *Route53) getZone(w http.ResponseWriter, id string) {
	z := e.zone(id)
	if z == nil {
		writeR53Error(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	type resp struct {
		XMLName     xml.Name `xml:"GetHostedZoneResponse"`
		XMLNS       string   `xml:"xmlns,attr"`
		HostedZone  xmlZone  `xml:"HostedZone"`
		NameServers []string `xml:"DelegationSet>NameServers>NameServer"`
	}
	writeXML(w, resp{XMLNS: r53NS, HostedZone: z.xml(), NameServers: []string{"ns-1.awsdns-emulator.test", "ns-2.awsdns-emulator.test"}})
}

type xmlRecordSet struct {
	Name            string    `xml:"Name"`
	Type            string    `xml:"Type"`
	TTL             *int64    `xml:"TTL,omitempty"`
	ResourceRecords []string  `xml:"ResourceRecords>ResourceRecord>Value,omitempty"`
	AliasTarget     *xmlAlias `xml:"AliasTarget,omitempty"`
}

type xmlAlias struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

func toXMLRecord(r *R53RecordSet) xmlRecordSet {
	x := xmlRecordSet{Name: r.Name, Type: r.Type, ResourceRecords: r.Values}
	if r.Alias != nil {
		x.AliasTarget = &xmlAlias{HostedZoneID: r.Alias.HostedZoneID, DNSName: r.Alias.DNSName, EvaluateTargetHealth: r.Alias.EvaluateTargetHealth}
	} else {
		ttl := r.TTL
		x.TTL = &ttl
	}
	return x
}

// reverseName orders names as Route 53 lists them: by reversed labels.
func reverseName(n string) string {
	labels := dns.SplitDomainName(n)
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

func sortRecords(rs []*R53RecordSet) {
	slices.SortFunc(rs, func(a, b *R53RecordSet) int {
		if c := strings.Compare(reverseName(a.Name), reverseName(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Type, b.Type)
	})
}

func (e *Route53) listRecords(w http.ResponseWriter, r *http.Request, id string) {
	z := e.zone(id)
	if z == nil {
		writeR53Error(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	q := r.URL.Query()
	start, startType := strings.ToLower(dns.Fqdn(q.Get("name"))), q.Get("type")
	limit := 100
	if n, err := strconv.Atoi(q.Get("maxitems")); err == nil && n > 0 {
		limit = n
	}
	rs := slices.Clone(z.records)
	sortRecords(rs)
	type resp struct {
		XMLName            xml.Name       `xml:"ListResourceRecordSetsResponse"`
		XMLNS              string         `xml:"xmlns,attr"`
		ResourceRecordSets []xmlRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
		IsTruncated        bool           `xml:"IsTruncated"`
		MaxItems           string         `xml:"MaxItems"`
	}
	out := resp{XMLNS: r53NS, MaxItems: strconv.Itoa(limit), ResourceRecordSets: []xmlRecordSet{}}
	for _, rec := range rs {
		if q.Get("name") != "" {
			c := strings.Compare(reverseName(rec.Name), reverseName(start))
			if c < 0 || (c == 0 && startType != "" && rec.Type < startType) {
				continue
			}
		}
		if len(out.ResourceRecordSets) == limit {
			out.IsTruncated = true
			break
		}
		out.ResourceRecordSets = append(out.ResourceRecordSets, toXMLRecord(rec))
	}
	writeXML(w, out)
}

func (e *Route53) changeRecords(w http.ResponseWriter, r *http.Request, id string) {
	z := e.zone(id)
	if z == nil {
		writeR53Error(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	if e.deny > 0 {
		e.deny--
		writeR53Error(w, http.StatusForbidden, "AccessDenied", "User is not authorized to perform: route53:ChangeResourceRecordSets on resource: hostedzone/"+id)
		return
	}
	var req struct {
		Changes []struct {
			Action string       `xml:"Action"`
			Set    xmlRecordSet `xml:"ResourceRecordSet"`
		} `xml:"ChangeBatch>Changes>Change"`
	}
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
		writeR53Error(w, http.StatusBadRequest, "InvalidInput", "malformed request: "+err.Error())
		return
	}
	if len(req.Changes) == 0 {
		writeR53Error(w, http.StatusBadRequest, "InvalidInput", "ChangeBatch must hold at least one change")
		return
	}
	// Applied to a copy: the batch is all or nothing.
	records := make([]*R53RecordSet, 0, len(z.records))
	for _, rec := range z.records {
		c := *rec
		records = append(records, &c)
	}
	var problems []string
	// One change per record set, except the compare-and-swap of old: a
	// DELETE of its exact value, then a CREATE.
	seen := map[string]string{}
	for _, c := range req.Changes {
		rs := fromXMLRecord(c.Set)
		key := rs.Type + " " + rs.Name
		if prev, ok := seen[key]; ok && !(prev == "DELETE" && c.Action == "CREATE") {
			problems = append(problems, fmt.Sprintf("The request contains an invalid set of changes for a resource record set '%s'", key))
			continue
		}
		seen[key] = c.Action
		if msg := validateR53(z, rs); msg != "" {
			problems = append(problems, msg)
			continue
		}
		i := slices.IndexFunc(records, func(x *R53RecordSet) bool { return x.Name == rs.Name && x.Type == rs.Type })
		desc := fmt.Sprintf("[name='%s', type='%s']", rs.Name, rs.Type)
		switch c.Action {
		case "CREATE":
			if i >= 0 {
				problems = append(problems, "Tried to create resource record set "+desc+" but it already exists")
				continue
			}
			records = append(records, rs)
		case "DELETE":
			switch {
			case i < 0:
				problems = append(problems, "Tried to delete resource record set "+desc+" but it was not found")
			case !sameR53(records[i], rs):
				problems = append(problems, "Tried to delete resource record set "+desc+" but the values provided do not match the current values")
			default:
				records = slices.Delete(records, i, i+1)
			}
			continue
		case "UPSERT":
			if i >= 0 {
				records[i] = rs
			} else {
				records = append(records, rs)
			}
		default:
			problems = append(problems, "Invalid action "+c.Action)
			continue
		}
		if conflict := cnameConflict(records, rs); conflict {
			problems = append(problems, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s", rs.Name, z.name))
		}
	}
	if len(problems) > 0 {
		type invalid struct {
			XMLName   xml.Name `xml:"InvalidChangeBatch"`
			XMLNS     string   `xml:"xmlns,attr"`
			Messages  []string `xml:"Messages>Message"`
			RequestID string   `xml:"RequestId"`
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		_ = xml.NewEncoder(w).Encode(invalid{XMLNS: r53NS, Messages: problems, RequestID: "emulator"})
		return
	}
	z.records = records
	ch := &r53Change{id: fmt.Sprintf("C%013d", len(e.changes)+1), submitted: time.Now(), zone: z, records: records}
	e.changes[ch.id] = ch
	e.promote()
	e.writeChange(w, "ChangeResourceRecordSetsResponse", ch)
}

func fromXMLRecord(x xmlRecordSet) *R53RecordSet {
	rs := &R53RecordSet{Name: strings.ToLower(dns.Fqdn(x.Name)), Type: x.Type, Values: x.ResourceRecords}
	if x.TTL != nil {
		rs.TTL = *x.TTL
	}
	if a := x.AliasTarget; a != nil {
		rs.Alias = &R53Alias{HostedZoneID: a.HostedZoneID, DNSName: strings.ToLower(dns.Fqdn(a.DNSName)), EvaluateTargetHealth: a.EvaluateTargetHealth}
		rs.TTL = 0
	}
	return rs
}

// validateR53 checks one record set as Route 53 does.
func validateR53(z *r53Zone, rs *R53RecordSet) string {
	if !dns.IsSubDomain(z.name, rs.Name) {
		return fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", rs.Name, z.name)
	}
	if rs.Alias != nil {
		if len(rs.Values) > 0 {
			return "Alias target and resource records cannot both be set for " + rs.Name
		}
		return ""
	}
	if len(rs.Values) == 0 {
		return "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=UPSERT, Name=" + rs.Name + ", Type=" + rs.Type + "]"
	}
	for _, v := range rs.Values {
		ip := net.ParseIP(v)
		switch {
		case rs.Type == "A" && (ip == nil || ip.To4() == nil):
			return "ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '" + v + "'"
		case rs.Type == "AAAA" && (ip == nil || ip.To4() != nil):
			return "AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '" + v + "'"
		}
	}
	if rs.Type == "CNAME" && len(rs.Values) != 1 {
		return "CNAME records must have exactly one value, " + rs.Name + " has " + strconv.Itoa(len(rs.Values))
	}
	if rs.Type == "CNAME" && rs.Name == z.name {
		return fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", rs.Name, z.name)
	}
	return ""
}

func sameR53(a, b *R53RecordSet) bool {
	return a.TTL == b.TTL && slices.Equal(a.Values, b.Values) && (a.Alias == nil) == (b.Alias == nil) && (a.Alias == nil || *a.Alias == *b.Alias)
}

func cnameConflict(records []*R53RecordSet, rs *R53RecordSet) bool {
	n := 0
	cname := false
	for _, r := range records {
		if r.Name == rs.Name {
			n++
			cname = cname || r.Type == "CNAME"
		}
	}
	return cname && n > 1
}

func (e *Route53) getChange(w http.ResponseWriter, id string) {
	ch := e.changes[strings.TrimPrefix(id, "/change/")]
	if ch == nil {
		writeR53Error(w, http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: "+id)
		return
	}
	e.writeChange(w, "GetChangeResponse", ch)
}

func (e *Route53) writeChange(w http.ResponseWriter, root string, ch *r53Change) {
	status := "PENDING"
	if ch.served {
		status = "INSYNC"
	}
	type info struct {
		ID          string `xml:"Id"`
		Status      string `xml:"Status"`
		SubmittedAt string `xml:"SubmittedAt"`
	}
	type resp struct {
		XMLName    xml.Name
		XMLNS      string `xml:"xmlns,attr"`
		ChangeInfo info   `xml:"ChangeInfo"`
	}
	writeXML(w, resp{XMLName: xml.Name{Local: root}, XMLNS: r53NS,
		ChangeInfo: info{ID: "/change/" + ch.id, Status: status, SubmittedAt: ch.submitted.UTC().Format(time.RFC3339)}})
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}

func writeR53Error(w http.ResponseWriter, status int, code, msg string) {
	type resp struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		XMLNS   string   `xml:"xmlns,attr"`
		Error   struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		RequestID string `xml:"RequestId"`
	}
	var out resp
	out.XMLNS, out.RequestID = r53NS, "emulator"
	out.Error.Type, out.Error.Code, out.Error.Message = "Sender", code, msg
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(out)
}

// serveDNS answers authoritatively from the INSYNC records. An alias is
// answered with its target's records when the target is in an emulated
// zone.
func (e *Route53) serveDNS(w dns.ResponseWriter, q *dns.Msg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.promote()
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	if len(q.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	qn := strings.ToLower(q.Question[0].Name)
	qt := dns.TypeToString[q.Question[0].Qtype]
	var zone *r53Zone
	for _, z := range e.zones {
		if dns.IsSubDomain(z.name, qn) && (zone == nil || len(z.name) > len(zone.name)) {
			zone = z
		}
	}
	if zone == nil {
		m.Rcode = dns.RcodeRefused
		_ = w.WriteMsg(m)
		return
	}
	exists := false
	for _, r := range zone.served {
		if r.Name != qn {
			continue
		}
		exists = true
		if r.Type == qt || (r.Type == "CNAME" && qt != "CNAME") {
			m.Answer = append(m.Answer, e.answer(qn, r)...)
		}
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

func (e *Route53) answer(name string, r *R53RecordSet) []dns.RR {
	if r.Alias != nil {
		for _, z := range e.zones {
			for _, t := range z.served {
				if t.Name == r.Alias.DNSName && t.Type == r.Type && t.Alias == nil {
					return rrsFor(name, &R53RecordSet{Name: name, Type: t.Type, TTL: t.TTL, Values: t.Values})
				}
			}
		}
		return nil
	}
	return rrsFor(name, r)
}

func rrsFor(name string, r *R53RecordSet) []dns.RR {
	var out []dns.RR
	for _, v := range r.Values {
		if rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", name, r.TTL, r.Type, v)); err == nil {
			out = append(out, rr)
		}
	}
	return out
}
