
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'dq' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'dq'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'dq' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Store an event in the local queue (prints its id)')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count events by state and show the configuration dq sees')
            [CompletionResult]::new('failed', 'failed', [CompletionResultType]::ParameterValue, 'List dead-lettered events')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Put dead-lettered events back in the queue')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Delete old processed events')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the queue over HTTP (for `dq consume` and the original bot)')
            [CompletionResult]::new('consume', 'consume', [CompletionResultType]::ParameterValue, 'Deliver events to Discord (from dq servers, or the local database)')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print the message `dq consume` would send for an event; stores nothing')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('setup', 'setup', [CompletionResultType]::ParameterValue, 'Connect dq to Discord: check the webhook or bot token, send a test notification, and write the config file')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or change the settings of the config file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dq;publish' {
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('backup-error', 'backup-error', [CompletionResultType]::ParameterValue, 'A backup failed')
            [CompletionResult]::new('backup-success', 'backup-success', [CompletionResultType]::ParameterValue, 'A backup finished')
            [CompletionResult]::new('minecraft-status', 'minecraft-status', [CompletionResultType]::ParameterValue, 'The Minecraft server changed state')
            [CompletionResult]::new('codespace-status', 'codespace-status', [CompletionResultType]::ParameterValue, 'The Codespace started, stopped or hit an error')
            [CompletionResult]::new('event', 'event', [CompletionResultType]::ParameterValue, 'Any event type, with a JSON payload or fields')
            [CompletionResult]::new('message', 'message', [CompletionResultType]::ParameterValue, 'A plain notification: the text is the message (type "message")')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'A test notification')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dq;publish;backup-error' {
            [CompletionResult]::new('--error-type', '--error-type', [CompletionResultType]::ParameterName, 'What failed: compression, upload, ... (stored as backup_<TYPE>)')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'The error message')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The backup file concerned')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;publish;backup-success' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The backup file')
            [CompletionResult]::new('--size-mb', '--size-mb', [CompletionResultType]::ParameterName, 'Its size in megabytes')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long it took, in seconds')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;publish;minecraft-status' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'status')
            [CompletionResult]::new('--ip', '--ip', [CompletionResultType]::ParameterName, 'Address players connect to')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'port')
            [CompletionResult]::new('--players', '--players', [CompletionResultType]::ParameterName, 'Players online')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;publish;codespace-status' {
            [CompletionResult]::new('--action', '--action', [CompletionResultType]::ParameterName, 'action')
            [CompletionResult]::new('--detail', '--detail', [CompletionResultType]::ParameterName, 'Extra detail shown in the message (repeatable)')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;publish;event' {
            [CompletionResult]::new('--payload', '--payload', [CompletionResultType]::ParameterName, 'The payload, a JSON object')
            [CompletionResult]::new('--field', '--field', [CompletionResultType]::ParameterName, 'A payload entry: KEY=text, or KEY:=JSON for a number, boolean, list or object')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;publish;message' {
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;publish;batch' {
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;publish;test' {
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'message')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--dedup-key', '--dedup-key', [CompletionResultType]::ParameterName, 'Do not store the event again while one with this key is pending or recent')
            [CompletionResult]::new('--dedup-window', '--dedup-window', [CompletionResultType]::ParameterName, 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;publish;help' {
            [CompletionResult]::new('backup-error', 'backup-error', [CompletionResultType]::ParameterValue, 'A backup failed')
            [CompletionResult]::new('backup-success', 'backup-success', [CompletionResultType]::ParameterValue, 'A backup finished')
            [CompletionResult]::new('minecraft-status', 'minecraft-status', [CompletionResultType]::ParameterValue, 'The Minecraft server changed state')
            [CompletionResult]::new('codespace-status', 'codespace-status', [CompletionResultType]::ParameterValue, 'The Codespace started, stopped or hit an error')
            [CompletionResult]::new('event', 'event', [CompletionResultType]::ParameterValue, 'Any event type, with a JSON payload or fields')
            [CompletionResult]::new('message', 'message', [CompletionResultType]::ParameterValue, 'A plain notification: the text is the message (type "message")')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'A test notification')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dq;publish;help;backup-error' {
            break
        }
        'dq;publish;help;backup-success' {
            break
        }
        'dq;publish;help;minecraft-status' {
            break
        }
        'dq;publish;help;codespace-status' {
            break
        }
        'dq;publish;help;event' {
            break
        }
        'dq;publish;help;message' {
            break
        }
        'dq;publish;help;batch' {
            break
        }
        'dq;publish;help;test' {
            break
        }
        'dq;publish;help;help' {
            break
        }
        'dq;stats' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;failed' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most this many, the most recent')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;retry' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every failed event')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;cleanup' {
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Delete processed events older than this many days')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--include-failed', '--include-failed', [CompletionResultType]::ParameterName, 'Also delete dead-lettered events that old')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;serve' {
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Address to listen on (port 0 picks a free port)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token clients must send [default: generated, stored next to the database]')
            [CompletionResult]::new('--retention', '--retention', [CompletionResultType]::ParameterName, 'Delete processed events older than this (e.g. 12h, 7d)')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Threads answering requests (long polls wait without holding one)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Drop a client that sends nothing for this long, mid-request or between requests')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Serve at most this many connections at once; beyond, a new one gets a quick 503 (a health check still gets through)')
            [CompletionResult]::new('--retry-backoff', '--retry-backoff', [CompletionResultType]::ParameterName, 'Backoff after a first failed attempt; each later one waits ten times longer')
            [CompletionResult]::new('--announce', '--announce', [CompletionResultType]::ParameterName, 'Announce this serve to a consumer (`dq consume --announce-key`) at this base URL, at start, every --announce-every, and whenever events wait with nobody claiming them, which wakes a consumer its host put to sleep (repeatable or comma-separated)')
            [CompletionResult]::new('--announce-key', '--announce-key', [CompletionResultType]::ParameterName, 'The key the consumers were started with (their --announce-key); sent as a bearer token')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'The URL consumers reach this serve at, sent in each announcement [default: in a Codespace, the forwarded URL of the port serve listens on]')
            [CompletionResult]::new('--announce-every', '--announce-every', [CompletionResultType]::ParameterName, 'Announce again this often, so a consumer that restarted relearns this serve and a host that sleeps idle services (Render''s free plan: after 15 minutes) keeps it awake')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--no-auth', '--no-auth', [CompletionResultType]::ParameterName, 'Accept requests without a token (for the original bot); anyone who reaches the port can then read and change the queue')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;consume' {
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'A dq server or original Flask API to take events from (repeatable), optionally with its own token and headers: "URL;token=TOKEN;header=Name: value"; none (and no --announce-key) means the local database (--db)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the sources that do not give their own (the one `dq serve` printed)')
            [CompletionResult]::new('--announce-key', '--announce-key', [CompletionResultType]::ParameterName, 'Accept sources that announce themselves (POST /sources on the --listen address) from whoever sends "Authorization: Bearer KEY"; each brings its own URL and token')
            [CompletionResult]::new('--forget-after', '--forget-after', [CompletionResultType]::ParameterName, 'Forget an announced source that has neither announced itself nor answered for this long')
            [CompletionResult]::new('--max-sources', '--max-sources', [CompletionResultType]::ParameterName, 'Refuse announcements of new sources once this many are known (503)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra header on requests to the --source sources, e.g. "X-Github-Token: ..." for a private Codespace port (repeatable; never sent to announced sources)')
            [CompletionResult]::new('--webhook', '--webhook', [CompletionResultType]::ParameterName, 'Discord channel webhook URL, as copied from Discord')
            [CompletionResult]::new('--bot-token', '--bot-token', [CompletionResultType]::ParameterName, 'Bot token: send each event as a direct message to its user')
            [CompletionResult]::new('--discord-api', '--discord-api', [CompletionResultType]::ParameterName, 'Base URL of Discord''s API (for bot requests, and webhooks when changed)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Long-poll a source for this many seconds')
            [CompletionResult]::new('--poll', '--poll', [CompletionResultType]::ParameterName, 'Poll a source that answers at once (does not long-poll) this often, in seconds')
            [CompletionResult]::new('--lease', '--lease', [CompletionResultType]::ParameterName, 'How long claimed events stay reserved for this consumer, in seconds')
            [CompletionResult]::new('--retry-backoff', '--retry-backoff', [CompletionResultType]::ParameterName, 'Local database only: backoff after a first failed attempt; each later one waits ten times longer (with --source, the server''s --retry-backoff applies)')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'Language of the messages')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Answer /health, /metrics (and /sources with --announce-key) on this address [default where PORT is set, as on Render, Railway, Fly, Heroku or Cloud Run: 0.0.0.0:$PORT]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--allow-http-sources', '--allow-http-sources', [CompletionResultType]::ParameterName, 'Accept announced sources at plain http:// URLs and at loopback or private addresses (otherwise only https:// to the internet)')
            [CompletionResult]::new('--mention', '--mention', [CompletionResultType]::ParameterName, 'Ping the event''s user in the message content (webhook delivery)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print each message as one JSON line instead of sending it; nothing is marked')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Deliver what is due now, then exit (1 if anything failed)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;render' {
            [CompletionResult]::new('--payload', '--payload', [CompletionResultType]::ParameterName, 'The payload, a JSON object')
            [CompletionResult]::new('--field', '--field', [CompletionResultType]::ParameterName, 'A payload entry: KEY=text, or KEY:=JSON for a number, boolean, list or object')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the message, in place of the type''s')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Text of the message (Markdown), in place of the type''s')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level''s)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Link the title opens (http:// or https://)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user the event is for (pinged with --mention)')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'Language of the message')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--mention', '--mention', [CompletionResultType]::ParameterName, 'Ping the event''s user in the message content, as `dq consume --mention` does')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;setup' {
            [CompletionResult]::new('--webhook', '--webhook', [CompletionResultType]::ParameterName, 'Discord channel webhook URL, as copied from Discord')
            [CompletionResult]::new('--bot-token', '--bot-token', [CompletionResultType]::ParameterName, 'Bot token: send each event as a direct message to its user')
            [CompletionResult]::new('--discord-api', '--discord-api', [CompletionResultType]::ParameterName, 'Base URL of Discord''s API (for bot requests, and webhooks when changed)')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (needed with --bot-token)')
            [CompletionResult]::new('--layout', '--layout', [CompletionResultType]::ParameterName, 'What to print to run next [default: codespace in a Codespace, else one-machine]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Ask nothing: check what the flags, environment and file give, and fail (exit 1, nothing written) if it is missing or wrong')
            [CompletionResult]::new('--test', '--test', [CompletionResultType]::ParameterName, 'Send a test notification through the queue (with --yes; otherwise setup asks)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)')
            [CompletionResult]::new('unset', 'unset', [CompletionResultType]::ParameterValue, 'Remove KEY from the config file')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print where the config file is')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting''s flag, to show what a command given it would use')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dq;config;set' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;config;unset' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;config;path' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;config;show' {
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Discord user to notify (may be empty for webhook delivery)')
            [CompletionResult]::new('--codespace', '--codespace', [CompletionResultType]::ParameterName, 'Codespace name added to the payload')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Address to listen on (port 0 picks a free port)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token clients must send [default: generated, stored next to the database]')
            [CompletionResult]::new('--retention', '--retention', [CompletionResultType]::ParameterName, 'Delete processed events older than this (e.g. 12h, 7d)')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Threads answering requests (long polls wait without holding one)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Drop a client that sends nothing for this long, mid-request or between requests')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Serve at most this many connections at once; beyond, a new one gets a quick 503 (a health check still gets through)')
            [CompletionResult]::new('--retry-backoff', '--retry-backoff', [CompletionResultType]::ParameterName, 'Backoff after a first failed attempt; each later one waits ten times longer')
            [CompletionResult]::new('--announce', '--announce', [CompletionResultType]::ParameterName, 'Announce this serve to a consumer (`dq consume --announce-key`) at this base URL, at start, every --announce-every, and whenever events wait with nobody claiming them, which wakes a consumer its host put to sleep (repeatable or comma-separated)')
            [CompletionResult]::new('--announce-key', '--announce-key', [CompletionResultType]::ParameterName, 'The key the consumers were started with (their --announce-key); sent as a bearer token')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'The URL consumers reach this serve at, sent in each announcement [default: in a Codespace, the forwarded URL of the port serve listens on]')
            [CompletionResult]::new('--announce-every', '--announce-every', [CompletionResultType]::ParameterName, 'Announce again this often, so a consumer that restarted relearns this serve and a host that sleeps idle services (Render''s free plan: after 15 minutes) keeps it awake')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'A dq server or original Flask API to take events from (repeatable), optionally with its own token and headers: "URL;token=TOKEN;header=Name: value"; none (and no --announce-key) means the local database (--db)')
            [CompletionResult]::new('--forget-after', '--forget-after', [CompletionResultType]::ParameterName, 'Forget an announced source that has neither announced itself nor answered for this long')
            [CompletionResult]::new('--max-sources', '--max-sources', [CompletionResultType]::ParameterName, 'Refuse announcements of new sources once this many are known (503)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra header on requests to the --source sources, e.g. "X-Github-Token: ..." for a private Codespace port (repeatable; never sent to announced sources)')
            [CompletionResult]::new('--webhook', '--webhook', [CompletionResultType]::ParameterName, 'Discord channel webhook URL, as copied from Discord')
            [CompletionResult]::new('--bot-token', '--bot-token', [CompletionResultType]::ParameterName, 'Bot token: send each event as a direct message to its user')
            [CompletionResult]::new('--discord-api', '--discord-api', [CompletionResultType]::ParameterName, 'Base URL of Discord''s API (for bot requests, and webhooks when changed)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Long-poll a source for this many seconds')
            [CompletionResult]::new('--poll', '--poll', [CompletionResultType]::ParameterName, 'Poll a source that answers at once (does not long-poll) this often, in seconds')
            [CompletionResult]::new('--lease', '--lease', [CompletionResultType]::ParameterName, 'How long claimed events stay reserved for this consumer, in seconds')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'Language of the messages')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Answer /health, /metrics (and /sources with --announce-key) on this address [default where PORT is set, as on Render, Railway, Fly, Heroku or Cloud Run: 0.0.0.0:$PORT]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Failed attempts after which an event is dead-lettered')
            [CompletionResult]::new('--busy-timeout-ms', '--busy-timeout-ms', [CompletionResultType]::ParameterName, 'How long to wait for another process''s lock on the database, in milliseconds')
            [CompletionResult]::new('--no-auth', '--no-auth', [CompletionResultType]::ParameterName, 'Accept requests without a token (for the original bot); anyone who reaches the port can then read and change the queue')
            [CompletionResult]::new('--allow-http-sources', '--allow-http-sources', [CompletionResultType]::ParameterName, 'Accept announced sources at plain http:// URLs and at loopback or private addresses (otherwise only https:// to the internet)')
            [CompletionResult]::new('--mention', '--mention', [CompletionResultType]::ParameterName, 'Ping the event''s user in the message content (webhook delivery)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dq;config;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)')
            [CompletionResult]::new('unset', 'unset', [CompletionResultType]::ParameterValue, 'Remove KEY from the config file')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print where the config file is')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting''s flag, to show what a command given it would use')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dq;config;help;set' {
            break
        }
        'dq;config;help;unset' {
            break
        }
        'dq;config;help;path' {
            break
        }
        'dq;config;help;show' {
            break
        }
        'dq;config;help;help' {
            break
        }
        'dq;help' {
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Store an event in the local queue (prints its id)')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count events by state and show the configuration dq sees')
            [CompletionResult]::new('failed', 'failed', [CompletionResultType]::ParameterValue, 'List dead-lettered events')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Put dead-lettered events back in the queue')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Delete old processed events')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the queue over HTTP (for `dq consume` and the original bot)')
            [CompletionResult]::new('consume', 'consume', [CompletionResultType]::ParameterValue, 'Deliver events to Discord (from dq servers, or the local database)')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print the message `dq consume` would send for an event; stores nothing')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('setup', 'setup', [CompletionResultType]::ParameterValue, 'Connect dq to Discord: check the webhook or bot token, send a test notification, and write the config file')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or change the settings of the config file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dq;help;publish' {
            [CompletionResult]::new('backup-error', 'backup-error', [CompletionResultType]::ParameterValue, 'A backup failed')
            [CompletionResult]::new('backup-success', 'backup-success', [CompletionResultType]::ParameterValue, 'A backup finished')
            [CompletionResult]::new('minecraft-status', 'minecraft-status', [CompletionResultType]::ParameterValue, 'The Minecraft server changed state')
            [CompletionResult]::new('codespace-status', 'codespace-status', [CompletionResultType]::ParameterValue, 'The Codespace started, stopped or hit an error')
            [CompletionResult]::new('event', 'event', [CompletionResultType]::ParameterValue, 'Any event type, with a JSON payload or fields')
            [CompletionResult]::new('message', 'message', [CompletionResultType]::ParameterValue, 'A plain notification: the text is the message (type "message")')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'A test notification')
            break
        }
        'dq;help;publish;backup-error' {
            break
        }
        'dq;help;publish;backup-success' {
            break
        }
        'dq;help;publish;minecraft-status' {
            break
        }
        'dq;help;publish;codespace-status' {
            break
        }
        'dq;help;publish;event' {
            break
        }
        'dq;help;publish;message' {
            break
        }
        'dq;help;publish;batch' {
            break
        }
        'dq;help;publish;test' {
            break
        }
        'dq;help;stats' {
            break
        }
        'dq;help;failed' {
            break
        }
        'dq;help;retry' {
            break
        }
        'dq;help;cleanup' {
            break
        }
        'dq;help;serve' {
            break
        }
        'dq;help;consume' {
            break
        }
        'dq;help;render' {
            break
        }
        'dq;help;completions' {
            break
        }
        'dq;help;setup' {
            break
        }
        'dq;help;config' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)')
            [CompletionResult]::new('unset', 'unset', [CompletionResultType]::ParameterValue, 'Remove KEY from the config file')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print where the config file is')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting''s flag, to show what a command given it would use')
            break
        }
        'dq;help;config;set' {
            break
        }
        'dq;help;config;unset' {
            break
        }
        'dq;help;config;path' {
            break
        }
        'dq;help;config;show' {
            break
        }
        'dq;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
