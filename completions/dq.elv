
use builtin;
use str;

set edit:completion:arg-completer[dq] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'dq'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'dq'= {
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand publish 'Store an event in the local queue (prints its id)'
            cand stats 'Count events by state and show the configuration dq sees'
            cand failed 'List dead-lettered events'
            cand retry 'Put dead-lettered events back in the queue'
            cand cleanup 'Delete old processed events'
            cand serve 'Serve the queue over HTTP (for `dq consume` and the original bot)'
            cand consume 'Deliver events to Discord (from dq servers, or the local database)'
            cand render 'Print the message `dq consume` would send for an event; stores nothing'
            cand completions 'Print a shell completion script'
            cand setup 'Connect dq to Discord: check the webhook or bot token, send a test notification, and write the config file'
            cand config 'Show or change the settings of the config file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dq;publish'= {
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand backup-error 'A backup failed'
            cand backup-success 'A backup finished'
            cand minecraft-status 'The Minecraft server changed state'
            cand codespace-status 'The Codespace started, stopped or hit an error'
            cand event 'Any event type, with a JSON payload or fields'
            cand message 'A plain notification: the text is the message (type "message")'
            cand batch 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}'
            cand test 'A test notification'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dq;publish;backup-error'= {
            cand --error-type 'What failed: compression, upload, ... (stored as backup_<TYPE>)'
            cand --message 'The error message'
            cand --file 'The backup file concerned'
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;publish;backup-success'= {
            cand --file 'The backup file'
            cand --size-mb 'Its size in megabytes'
            cand --duration 'How long it took, in seconds'
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;publish;minecraft-status'= {
            cand --status 'status'
            cand --ip 'Address players connect to'
            cand --port 'port'
            cand --players 'Players online'
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;publish;codespace-status'= {
            cand --action 'action'
            cand --detail 'Extra detail shown in the message (repeatable)'
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;publish;event'= {
            cand --payload 'The payload, a JSON object'
            cand --field 'A payload entry: KEY=text, or KEY:=JSON for a number, boolean, list or object'
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;publish;message'= {
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;publish;batch'= {
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;publish;test'= {
            cand --message 'message'
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --dedup-key 'Do not store the event again while one with this key is pending or recent'
            cand --dedup-window 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;publish;help'= {
            cand backup-error 'A backup failed'
            cand backup-success 'A backup finished'
            cand minecraft-status 'The Minecraft server changed state'
            cand codespace-status 'The Codespace started, stopped or hit an error'
            cand event 'Any event type, with a JSON payload or fields'
            cand message 'A plain notification: the text is the message (type "message")'
            cand batch 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}'
            cand test 'A test notification'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dq;publish;help;backup-error'= {
        }
        &'dq;publish;help;backup-success'= {
        }
        &'dq;publish;help;minecraft-status'= {
        }
        &'dq;publish;help;codespace-status'= {
        }
        &'dq;publish;help;event'= {
        }
        &'dq;publish;help;message'= {
        }
        &'dq;publish;help;batch'= {
        }
        &'dq;publish;help;test'= {
        }
        &'dq;publish;help;help'= {
        }
        &'dq;stats'= {
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;failed'= {
            cand --limit 'Show at most this many, the most recent'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;retry'= {
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --all 'Every failed event'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;cleanup'= {
            cand --days 'Delete processed events older than this many days'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --include-failed 'Also delete dead-lettered events that old'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;serve'= {
            cand --bind 'Address to listen on (port 0 picks a free port)'
            cand --token 'Bearer token clients must send [default: generated, stored next to the database]'
            cand --retention 'Delete processed events older than this (e.g. 12h, 7d)'
            cand --workers 'Threads answering requests (long polls wait without holding one)'
            cand --request-timeout 'Drop a client that sends nothing for this long, mid-request or between requests'
            cand --max-connections 'Serve at most this many connections at once; beyond, a new one gets a quick 503 (a health check still gets through)'
            cand --retry-backoff 'Backoff after a first failed attempt; each later one waits ten times longer'
            cand --announce 'Announce this serve to a consumer (`dq consume --announce-key`) at this base URL, at start, every --announce-every, and whenever events wait with nobody claiming them, which wakes a consumer its host put to sleep (repeatable or comma-separated)'
            cand --announce-key 'The key the consumers were started with (their --announce-key); sent as a bearer token'
            cand --public-url 'The URL consumers reach this serve at, sent in each announcement [default: in a Codespace, the forwarded URL of the port serve listens on]'
            cand --announce-every 'Announce again this often, so a consumer that restarted relearns this serve and a host that sleeps idle services (Render''s free plan: after 15 minutes) keeps it awake'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --no-auth 'Accept requests without a token (for the original bot); anyone who reaches the port can then read and change the queue'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;consume'= {
            cand --source 'A dq server or original Flask API to take events from (repeatable), optionally with its own token and headers: "URL;token=TOKEN;header=Name: value"; none (and no --announce-key) means the local database (--db)'
            cand --token 'Bearer token for the sources that do not give their own (the one `dq serve` printed)'
            cand --announce-key 'Accept sources that announce themselves (POST /sources on the --listen address) from whoever sends "Authorization: Bearer KEY"; each brings its own URL and token'
            cand --forget-after 'Forget an announced source that has neither announced itself nor answered for this long'
            cand --max-sources 'Refuse announcements of new sources once this many are known (503)'
            cand --header 'Extra header on requests to the --source sources, e.g. "X-Github-Token: ..." for a private Codespace port (repeatable; never sent to announced sources)'
            cand --webhook 'Discord channel webhook URL, as copied from Discord'
            cand --bot-token 'Bot token: send each event as a direct message to its user'
            cand --discord-api 'Base URL of Discord''s API (for bot requests, and webhooks when changed)'
            cand --wait 'Long-poll a source for this many seconds'
            cand --poll 'Poll a source that answers at once (does not long-poll) this often, in seconds'
            cand --lease 'How long claimed events stay reserved for this consumer, in seconds'
            cand --retry-backoff 'Local database only: backoff after a first failed attempt; each later one waits ten times longer (with --source, the server''s --retry-backoff applies)'
            cand --lang 'Language of the messages'
            cand --listen 'Answer /health, /metrics (and /sources with --announce-key) on this address [default where PORT is set, as on Render, Railway, Fly, Heroku or Cloud Run: 0.0.0.0:$PORT]'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --allow-http-sources 'Accept announced sources at plain http:// URLs and at loopback or private addresses (otherwise only https:// to the internet)'
            cand --mention 'Ping the event''s user in the message content (webhook delivery)'
            cand --dry-run 'Print each message as one JSON line instead of sending it; nothing is marked'
            cand --once 'Deliver what is due now, then exit (1 if anything failed)'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;render'= {
            cand --payload 'The payload, a JSON object'
            cand --field 'A payload entry: KEY=text, or KEY:=JSON for a number, boolean, list or object'
            cand --title 'Title of the message, in place of the type''s'
            cand --body 'Text of the message (Markdown), in place of the type''s'
            cand --level 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)'
            cand --color 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)'
            cand --url 'Link the title opens (http:// or https://)'
            cand --codespace 'Codespace name added to the payload'
            cand --user-id 'Discord user the event is for (pinged with --mention)'
            cand --lang 'Language of the message'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --mention 'Ping the event''s user in the message content, as `dq consume --mention` does'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;completions'= {
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;setup'= {
            cand --webhook 'Discord channel webhook URL, as copied from Discord'
            cand --bot-token 'Bot token: send each event as a direct message to its user'
            cand --discord-api 'Base URL of Discord''s API (for bot requests, and webhooks when changed)'
            cand --user-id 'Discord user to notify (needed with --bot-token)'
            cand --layout 'What to print to run next [default: codespace in a Codespace, else one-machine]'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --yes 'Ask nothing: check what the flags, environment and file give, and fail (exit 1, nothing written) if it is missing or wrong'
            cand --test 'Send a test notification through the queue (with --yes; otherwise setup asks)'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;config'= {
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)'
            cand unset 'Remove KEY from the config file'
            cand path 'Print where the config file is'
            cand show 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting''s flag, to show what a command given it would use'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dq;config;set'= {
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;config;unset'= {
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;config;path'= {
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;config;show'= {
            cand --user-id 'Discord user to notify (may be empty for webhook delivery)'
            cand --codespace 'Codespace name added to the payload'
            cand --bind 'Address to listen on (port 0 picks a free port)'
            cand --token 'Bearer token clients must send [default: generated, stored next to the database]'
            cand --retention 'Delete processed events older than this (e.g. 12h, 7d)'
            cand --workers 'Threads answering requests (long polls wait without holding one)'
            cand --request-timeout 'Drop a client that sends nothing for this long, mid-request or between requests'
            cand --max-connections 'Serve at most this many connections at once; beyond, a new one gets a quick 503 (a health check still gets through)'
            cand --retry-backoff 'Backoff after a first failed attempt; each later one waits ten times longer'
            cand --announce 'Announce this serve to a consumer (`dq consume --announce-key`) at this base URL, at start, every --announce-every, and whenever events wait with nobody claiming them, which wakes a consumer its host put to sleep (repeatable or comma-separated)'
            cand --announce-key 'The key the consumers were started with (their --announce-key); sent as a bearer token'
            cand --public-url 'The URL consumers reach this serve at, sent in each announcement [default: in a Codespace, the forwarded URL of the port serve listens on]'
            cand --announce-every 'Announce again this often, so a consumer that restarted relearns this serve and a host that sleeps idle services (Render''s free plan: after 15 minutes) keeps it awake'
            cand --source 'A dq server or original Flask API to take events from (repeatable), optionally with its own token and headers: "URL;token=TOKEN;header=Name: value"; none (and no --announce-key) means the local database (--db)'
            cand --forget-after 'Forget an announced source that has neither announced itself nor answered for this long'
            cand --max-sources 'Refuse announcements of new sources once this many are known (503)'
            cand --header 'Extra header on requests to the --source sources, e.g. "X-Github-Token: ..." for a private Codespace port (repeatable; never sent to announced sources)'
            cand --webhook 'Discord channel webhook URL, as copied from Discord'
            cand --bot-token 'Bot token: send each event as a direct message to its user'
            cand --discord-api 'Base URL of Discord''s API (for bot requests, and webhooks when changed)'
            cand --wait 'Long-poll a source for this many seconds'
            cand --poll 'Poll a source that answers at once (does not long-poll) this often, in seconds'
            cand --lease 'How long claimed events stay reserved for this consumer, in seconds'
            cand --lang 'Language of the messages'
            cand --listen 'Answer /health, /metrics (and /sources with --announce-key) on this address [default where PORT is set, as on Render, Railway, Fly, Heroku or Cloud Run: 0.0.0.0:$PORT]'
            cand --config 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]'
            cand --db 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]'
            cand --max-attempts 'Failed attempts after which an event is dead-lettered'
            cand --busy-timeout-ms 'How long to wait for another process''s lock on the database, in milliseconds'
            cand --no-auth 'Accept requests without a token (for the original bot); anyone who reaches the port can then read and change the queue'
            cand --allow-http-sources 'Accept announced sources at plain http:// URLs and at loopback or private addresses (otherwise only https:// to the internet)'
            cand --mention 'Ping the event''s user in the message content (webhook delivery)'
            cand --json 'Print one JSON document instead of text'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dq;config;help'= {
            cand set 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)'
            cand unset 'Remove KEY from the config file'
            cand path 'Print where the config file is'
            cand show 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting''s flag, to show what a command given it would use'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dq;config;help;set'= {
        }
        &'dq;config;help;unset'= {
        }
        &'dq;config;help;path'= {
        }
        &'dq;config;help;show'= {
        }
        &'dq;config;help;help'= {
        }
        &'dq;help'= {
            cand publish 'Store an event in the local queue (prints its id)'
            cand stats 'Count events by state and show the configuration dq sees'
            cand failed 'List dead-lettered events'
            cand retry 'Put dead-lettered events back in the queue'
            cand cleanup 'Delete old processed events'
            cand serve 'Serve the queue over HTTP (for `dq consume` and the original bot)'
            cand consume 'Deliver events to Discord (from dq servers, or the local database)'
            cand render 'Print the message `dq consume` would send for an event; stores nothing'
            cand completions 'Print a shell completion script'
            cand setup 'Connect dq to Discord: check the webhook or bot token, send a test notification, and write the config file'
            cand config 'Show or change the settings of the config file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dq;help;publish'= {
            cand backup-error 'A backup failed'
            cand backup-success 'A backup finished'
            cand minecraft-status 'The Minecraft server changed state'
            cand codespace-status 'The Codespace started, stopped or hit an error'
            cand event 'Any event type, with a JSON payload or fields'
            cand message 'A plain notification: the text is the message (type "message")'
            cand batch 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}'
            cand test 'A test notification'
        }
        &'dq;help;publish;backup-error'= {
        }
        &'dq;help;publish;backup-success'= {
        }
        &'dq;help;publish;minecraft-status'= {
        }
        &'dq;help;publish;codespace-status'= {
        }
        &'dq;help;publish;event'= {
        }
        &'dq;help;publish;message'= {
        }
        &'dq;help;publish;batch'= {
        }
        &'dq;help;publish;test'= {
        }
        &'dq;help;stats'= {
        }
        &'dq;help;failed'= {
        }
        &'dq;help;retry'= {
        }
        &'dq;help;cleanup'= {
        }
        &'dq;help;serve'= {
        }
        &'dq;help;consume'= {
        }
        &'dq;help;render'= {
        }
        &'dq;help;completions'= {
        }
        &'dq;help;setup'= {
        }
        &'dq;help;config'= {
            cand set 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)'
            cand unset 'Remove KEY from the config file'
            cand path 'Print where the config file is'
            cand show 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting''s flag, to show what a command given it would use'
        }
        &'dq;help;config;set'= {
        }
        &'dq;help;config;unset'= {
        }
        &'dq;help;config;path'= {
        }
        &'dq;help;config;show'= {
        }
        &'dq;help;help'= {
        }
    ]
    $completions[$command]
}
