package bench

import "testing"

func TestStatusCode(t *testing.T) {
	cases := []struct {
		body  string
		code  int64
		found bool
	}{
		{`{"status_code":0,"status_msg":""}`, 0, true},
		{`{"status_msg":"","status_code":0}`, 0, true},
		{` { "status_code" : 0 } `, 0, true},
		{"{\n\t\"a\": 1,\n\t\"status_code\": 10007\n}", 10007, true},
		{`{"status_code":-1}`, -1, true},
		{`{"status_code":7,"status_msg":"rate limited"}`, 7, true},
		// Sorted keys put it after the payload, which may hold look-alikes.
		{`{"status_msg":"","video_list":[{"title":"\"status_code\":0","author":{"status_code":0}}],"status_code":3}`, 3, true},
		{`{"next":{"status_code":0},"status_code":12}`, 12, true},
		{`{"comment":"x \\\"status_code\":0","status_code":4}`, 4, true}, // an escaped quote inside a string
		{`{"path":"C:\\\\","status_code":0}`, 0, true},                   // a string ending in an escaped backslash
		{`{"status\u005fcode":9}`, 9, true},                              // an escaped key is still the key
		{`{"list":[1,2.5,true,null,"]}"],"status_code":0}`, 0, true},     // brackets inside strings
		{`{"nested":{"status_code":0}}`, 0, false},                       // only nested
		{`{"status_msg":"status_code:0"}`, 0, false},                     // only in a string
		{`[{"status_code":0}]`, 0, false},                                // not an object
		{`{"status_code":"0"}`, 0, false},                                // a string, not a number
		{`{"status_code":0.5}`, 0, false},                                // not an integer
		{`{"status_code":1e3}`, 0, false},                                // not an integer
		{`{"status_code":01}`, 0, false},                                 // not JSON
		{`{"status_code":0`, 0, false},                                   // cut short
		{`{"status_msg":"abc`, 0, false},                                 // cut short in a string
		{`{"list":[{"a":1}`, 0, false},                                   // cut short in a container
		{`{"status_code":99999999999999999999}`, 0, false},               // absurdly large
		{``, 0, false},
		{`not json`, 0, false},
		{`{}`, 0, false},
	}
	for _, c := range cases {
		code, found := StatusCode([]byte(c.body))
		if code != c.code || found != c.found {
			t.Errorf("StatusCode(%s) = %d, %v; want %d, %v", c.body, code, found, c.code, c.found)
		}
	}
}

func BenchmarkStatusCodeFeed(b *testing.B) {
	// A feed of 30 videos with status_code last: the whole body is scanned.
	body := []byte(`{"next_time":1700000000000,"video_list":[`)
	for i := range 30 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"author":{"avatar":"http://127.0.0.1:8080/static/avatar/1.png","background_image":"http://127.0.0.1:8080/static/background/1.png","favorite_count":3,"follow_count":10,"follower_count":1000,"id":123456789,"is_follow":false,"name":"seed_000001","signature":"","total_favorited":77,"work_count":5},"comment_count":12,"cover_url":"http://127.0.0.1:8080/media/c/abc.jpg","favorite_count":40,"id":98765432101,"is_favorite":false,"play_url":"http://127.0.0.1:8080/media/v/abc.mp4","title":"a title with \"quotes\" and {braces}"}`...)
	}
	body = append(body, `],"status_msg":"","status_code":0}`...)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, ok := StatusCode(body); !ok {
			b.Fatal("not found")
		}
	}
}
