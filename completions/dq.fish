# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dq_global_optspecs
    string join \n config= db= json max-attempts= busy-timeout-ms= h/help V/version
end

function __fish_dq_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_dq_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_dq_using_subcommand
    set -l cmd (__fish_dq_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c dq -n "__fish_dq_needs_command" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_needs_command" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_needs_command" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_needs_command" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_needs_command" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dq -n "__fish_dq_needs_command" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_needs_command" -f -a "publish" -d 'Store an event in the local queue (prints its id)'
complete -c dq -n "__fish_dq_needs_command" -f -a "stats" -d 'Count events by state and show the configuration dq sees'
complete -c dq -n "__fish_dq_needs_command" -f -a "failed" -d 'List dead-lettered events'
complete -c dq -n "__fish_dq_needs_command" -f -a "retry" -d 'Put dead-lettered events back in the queue'
complete -c dq -n "__fish_dq_needs_command" -f -a "cleanup" -d 'Delete old processed events'
complete -c dq -n "__fish_dq_needs_command" -f -a "serve" -d 'Serve the queue over HTTP (for `dq consume` and the original bot)'
complete -c dq -n "__fish_dq_needs_command" -f -a "consume" -d 'Deliver events to Discord (from dq servers, or the local database)'
complete -c dq -n "__fish_dq_needs_command" -f -a "render" -d 'Print the message `dq consume` would send for an event; stores nothing'
complete -c dq -n "__fish_dq_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c dq -n "__fish_dq_needs_command" -f -a "setup" -d 'Connect dq to Discord: check the webhook or bot token, send a test notification, and write the config file'
complete -c dq -n "__fish_dq_needs_command" -f -a "config" -d 'Show or change the settings of the config file'
complete -c dq -n "__fish_dq_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "backup-error" -d 'A backup failed'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "backup-success" -d 'A backup finished'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "minecraft-status" -d 'The Minecraft server changed state'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "codespace-status" -d 'The Codespace started, stopped or hit an error'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "event" -d 'Any event type, with a JSON payload or fields'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "message" -d 'A plain notification: the text is the message (type "message")'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "batch" -d 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "test" -d 'A test notification'
complete -c dq -n "__fish_dq_using_subcommand publish; and not __fish_seen_subcommand_from backup-error backup-success minecraft-status codespace-status event message batch test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l error-type -d 'What failed: compression, upload, ... (stored as backup_<TYPE>)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l message -d 'The error message' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l file -d 'The backup file concerned' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-error" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l file -d 'The backup file' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l size-mb -d 'Its size in megabytes' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l duration -d 'How long it took, in seconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from backup-success" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l status -r -f -a "online\t''
offline\t''
starting\t''
stopping\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l ip -d 'Address players connect to' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l port -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l players -d 'Players online' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from minecraft-status" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l action -r -f -a "started\t''
stopped\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l detail -d 'Extra detail shown in the message (repeatable)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from codespace-status" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l payload -d 'The payload, a JSON object' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l field -d 'A payload entry: KEY=text, or KEY:=JSON for a number, boolean, list or object' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from event" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from message" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from batch" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l message -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l dedup-key -d 'Do not store the event again while one with this key is pending or recent' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l dedup-window -d 'How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "backup-error" -d 'A backup failed'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "backup-success" -d 'A backup finished'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "minecraft-status" -d 'The Minecraft server changed state'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "codespace-status" -d 'The Codespace started, stopped or hit an error'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "event" -d 'Any event type, with a JSON payload or fields'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "message" -d 'A plain notification: the text is the message (type "message")'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "batch" -d 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "test" -d 'A test notification'
complete -c dq -n "__fish_dq_using_subcommand publish; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dq -n "__fish_dq_using_subcommand stats" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand stats" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand stats" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand stats" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand stats" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand stats" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand stats" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand failed" -l limit -d 'Show at most this many, the most recent' -r
complete -c dq -n "__fish_dq_using_subcommand failed" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand failed" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand failed" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand failed" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand failed" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand failed" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand failed" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand retry" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand retry" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand retry" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand retry" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand retry" -l all -d 'Every failed event'
complete -c dq -n "__fish_dq_using_subcommand retry" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand retry" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand retry" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand cleanup" -l days -d 'Delete processed events older than this many days' -r
complete -c dq -n "__fish_dq_using_subcommand cleanup" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand cleanup" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand cleanup" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand cleanup" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand cleanup" -l include-failed -d 'Also delete dead-lettered events that old'
complete -c dq -n "__fish_dq_using_subcommand cleanup" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand cleanup" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand cleanup" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand serve" -l bind -d 'Address to listen on (port 0 picks a free port)' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l token -d 'Bearer token clients must send [default: generated, stored next to the database]' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l retention -d 'Delete processed events older than this (e.g. 12h, 7d)' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l workers -d 'Threads answering requests (long polls wait without holding one)' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l request-timeout -d 'Drop a client that sends nothing for this long, mid-request or between requests' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l max-connections -d 'Serve at most this many connections at once; beyond, a new one gets a quick 503 (a health check still gets through)' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l retry-backoff -d 'Backoff after a first failed attempt; each later one waits ten times longer' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l announce -d 'Announce this serve to a consumer (`dq consume --announce-key`) at this base URL, at start, every --announce-every, and whenever events wait with nobody claiming them, which wakes a consumer its host put to sleep (repeatable or comma-separated)' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l announce-key -d 'The key the consumers were started with (their --announce-key); sent as a bearer token' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l public-url -d 'The URL consumers reach this serve at, sent in each announcement [default: in a Codespace, the forwarded URL of the port serve listens on]' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l announce-every -d 'Announce again this often, so a consumer that restarted relearns this serve and a host that sleeps idle services (Render\'s free plan: after 15 minutes) keeps it awake' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand serve" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand serve" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand serve" -l no-auth -d 'Accept requests without a token (for the original bot); anyone who reaches the port can then read and change the queue'
complete -c dq -n "__fish_dq_using_subcommand serve" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand serve" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand serve" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand consume" -l source -d 'A dq server or original Flask API to take events from (repeatable), optionally with its own token and headers: "URL;token=TOKEN;header=Name: value"; none (and no --announce-key) means the local database (--db)' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l token -d 'Bearer token for the sources that do not give their own (the one `dq serve` printed)' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l announce-key -d 'Accept sources that announce themselves (POST /sources on the --listen address) from whoever sends "Authorization: Bearer KEY"; each brings its own URL and token' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l forget-after -d 'Forget an announced source that has neither announced itself nor answered for this long' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l max-sources -d 'Refuse announcements of new sources once this many are known (503)' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l header -d 'Extra header on requests to the --source sources, e.g. "X-Github-Token: ..." for a private Codespace port (repeatable; never sent to announced sources)' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l webhook -d 'Discord channel webhook URL, as copied from Discord' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l bot-token -d 'Bot token: send each event as a direct message to its user' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l discord-api -d 'Base URL of Discord\'s API (for bot requests, and webhooks when changed)' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l wait -d 'Long-poll a source for this many seconds' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l poll -d 'Poll a source that answers at once (does not long-poll) this often, in seconds' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l lease -d 'How long claimed events stay reserved for this consumer, in seconds' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l retry-backoff -d 'Local database only: backoff after a first failed attempt; each later one waits ten times longer (with --source, the server\'s --retry-backoff applies)' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l lang -d 'Language of the messages' -r -f -a "es\t'Spanish, as the original messages'
en\t'English'"
complete -c dq -n "__fish_dq_using_subcommand consume" -l listen -d 'Answer /health, /metrics (and /sources with --announce-key) on this address [default where PORT is set, as on Render, Railway, Fly, Heroku or Cloud Run: 0.0.0.0:$PORT]' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand consume" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand consume" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand consume" -l allow-http-sources -d 'Accept announced sources at plain http:// URLs and at loopback or private addresses (otherwise only https:// to the internet)'
complete -c dq -n "__fish_dq_using_subcommand consume" -l mention -d 'Ping the event\'s user in the message content (webhook delivery)'
complete -c dq -n "__fish_dq_using_subcommand consume" -l dry-run -d 'Print each message as one JSON line instead of sending it; nothing is marked'
complete -c dq -n "__fish_dq_using_subcommand consume" -l once -d 'Deliver what is due now, then exit (1 if anything failed)'
complete -c dq -n "__fish_dq_using_subcommand consume" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand consume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dq -n "__fish_dq_using_subcommand consume" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand render" -l payload -d 'The payload, a JSON object' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l field -d 'A payload entry: KEY=text, or KEY:=JSON for a number, boolean, list or object' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l title -d 'Title of the message, in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l body -d 'Text of the message (Markdown), in place of the type\'s' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l level -d 'How much it matters: an emoji before the title and a colour (blue, green, orange, red)' -r -f -a "info\t''
success\t''
warning\t''
error\t''"
complete -c dq -n "__fish_dq_using_subcommand render" -l color -d 'Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB (wins over --level\'s)' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l url -d 'Link the title opens (http:// or https://)' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l user-id -d 'Discord user the event is for (pinged with --mention)' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l lang -d 'Language of the message' -r -f -a "es\t'Spanish, as the original messages'
en\t'English'"
complete -c dq -n "__fish_dq_using_subcommand render" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand render" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand render" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand render" -l mention -d 'Ping the event\'s user in the message content, as `dq consume --mention` does'
complete -c dq -n "__fish_dq_using_subcommand render" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dq -n "__fish_dq_using_subcommand render" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand completions" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand completions" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand completions" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand completions" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand completions" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand completions" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand completions" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand setup" -l webhook -d 'Discord channel webhook URL, as copied from Discord' -r
complete -c dq -n "__fish_dq_using_subcommand setup" -l bot-token -d 'Bot token: send each event as a direct message to its user' -r
complete -c dq -n "__fish_dq_using_subcommand setup" -l discord-api -d 'Base URL of Discord\'s API (for bot requests, and webhooks when changed)' -r
complete -c dq -n "__fish_dq_using_subcommand setup" -l user-id -d 'Discord user to notify (needed with --bot-token)' -r
complete -c dq -n "__fish_dq_using_subcommand setup" -l layout -d 'What to print to run next [default: codespace in a Codespace, else one-machine]' -r -f -a "one-machine\t'Events are published and delivered on this machine (`dq consume` here)'
codespace\t'Events happen here (a Codespace) and another machine delivers them (`dq serve --announce` here, `dq consume --announce-key` there)'"
complete -c dq -n "__fish_dq_using_subcommand setup" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand setup" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand setup" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand setup" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand setup" -l yes -d 'Ask nothing: check what the flags, environment and file give, and fail (exit 1, nothing written) if it is missing or wrong'
complete -c dq -n "__fish_dq_using_subcommand setup" -l test -d 'Send a test notification through the queue (with --yes; otherwise setup asks)'
complete -c dq -n "__fish_dq_using_subcommand setup" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand setup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dq -n "__fish_dq_using_subcommand setup" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -f -a "set" -d 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)'
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -f -a "unset" -d 'Remove KEY from the config file'
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -f -a "path" -d 'Print where the config file is'
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -f -a "show" -d 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting\'s flag, to show what a command given it would use'
complete -c dq -n "__fish_dq_using_subcommand config; and not __fish_seen_subcommand_from set unset path show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from set" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from set" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from set" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from set" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from set" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from unset" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from unset" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from unset" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from unset" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from unset" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from unset" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from path" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from path" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from path" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from path" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from path" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from path" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l user-id -d 'Discord user to notify (may be empty for webhook delivery)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l codespace -d 'Codespace name added to the payload' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l bind -d 'Address to listen on (port 0 picks a free port)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l token -d 'Bearer token clients must send [default: generated, stored next to the database]' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l retention -d 'Delete processed events older than this (e.g. 12h, 7d)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l workers -d 'Threads answering requests (long polls wait without holding one)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l request-timeout -d 'Drop a client that sends nothing for this long, mid-request or between requests' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l max-connections -d 'Serve at most this many connections at once; beyond, a new one gets a quick 503 (a health check still gets through)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l retry-backoff -d 'Backoff after a first failed attempt; each later one waits ten times longer' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l announce -d 'Announce this serve to a consumer (`dq consume --announce-key`) at this base URL, at start, every --announce-every, and whenever events wait with nobody claiming them, which wakes a consumer its host put to sleep (repeatable or comma-separated)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l announce-key -d 'The key the consumers were started with (their --announce-key); sent as a bearer token' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l public-url -d 'The URL consumers reach this serve at, sent in each announcement [default: in a Codespace, the forwarded URL of the port serve listens on]' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l announce-every -d 'Announce again this often, so a consumer that restarted relearns this serve and a host that sleeps idle services (Render\'s free plan: after 15 minutes) keeps it awake' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l source -d 'A dq server or original Flask API to take events from (repeatable), optionally with its own token and headers: "URL;token=TOKEN;header=Name: value"; none (and no --announce-key) means the local database (--db)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l forget-after -d 'Forget an announced source that has neither announced itself nor answered for this long' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l max-sources -d 'Refuse announcements of new sources once this many are known (503)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l header -d 'Extra header on requests to the --source sources, e.g. "X-Github-Token: ..." for a private Codespace port (repeatable; never sent to announced sources)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l webhook -d 'Discord channel webhook URL, as copied from Discord' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l bot-token -d 'Bot token: send each event as a direct message to its user' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l discord-api -d 'Base URL of Discord\'s API (for bot requests, and webhooks when changed)' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l wait -d 'Long-poll a source for this many seconds' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l poll -d 'Poll a source that answers at once (does not long-poll) this often, in seconds' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l lease -d 'How long claimed events stay reserved for this consumer, in seconds' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l lang -d 'Language of the messages' -r -f -a "es\t'Spanish, as the original messages'
en\t'English'"
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l listen -d 'Answer /health, /metrics (and /sources with --announce-key) on this address [default where PORT is set, as on Render, Railway, Fly, Heroku or Cloud Run: 0.0.0.0:$PORT]' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Config file [default: $XDG_CONFIG_HOME/dq/config.toml]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l db -d 'SQLite database [default: $XDG_DATA_HOME/dq/events.db]' -r -F
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l max-attempts -d 'Failed attempts after which an event is dead-lettered' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l busy-timeout-ms -d 'How long to wait for another process\'s lock on the database, in milliseconds' -r
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l no-auth -d 'Accept requests without a token (for the original bot); anyone who reaches the port can then read and change the queue'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l allow-http-sources -d 'Accept announced sources at plain http:// URLs and at loopback or private addresses (otherwise only https:// to the internet)'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l mention -d 'Ping the event\'s user in the message content (webhook delivery)'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document instead of text'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Remove KEY from the config file'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print where the config file is'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting\'s flag, to show what a command given it would use'
complete -c dq -n "__fish_dq_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "publish" -d 'Store an event in the local queue (prints its id)'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "stats" -d 'Count events by state and show the configuration dq sees'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "failed" -d 'List dead-lettered events'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "retry" -d 'Put dead-lettered events back in the queue'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "cleanup" -d 'Delete old processed events'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "serve" -d 'Serve the queue over HTTP (for `dq consume` and the original bot)'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "consume" -d 'Deliver events to Discord (from dq servers, or the local database)'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "render" -d 'Print the message `dq consume` would send for an event; stores nothing'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "completions" -d 'Print a shell completion script'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "setup" -d 'Connect dq to Discord: check the webhook or bot token, send a test notification, and write the config file'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "config" -d 'Show or change the settings of the config file'
complete -c dq -n "__fish_dq_using_subcommand help; and not __fish_seen_subcommand_from publish stats failed retry cleanup serve consume render completions setup config help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from publish" -f -a "backup-error" -d 'A backup failed'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from publish" -f -a "backup-success" -d 'A backup finished'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from publish" -f -a "minecraft-status" -d 'The Minecraft server changed state'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from publish" -f -a "codespace-status" -d 'The Codespace started, stopped or hit an error'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from publish" -f -a "event" -d 'Any event type, with a JSON payload or fields'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from publish" -f -a "message" -d 'A plain notification: the text is the message (type "message")'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from publish" -f -a "batch" -d 'Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?, title?, body?, level?, color?, url?}'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from publish" -f -a "test" -d 'A test notification'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "set" -d 'Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "unset" -d 'Remove KEY from the config file'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "path" -d 'Print where the config file is'
complete -c dq -n "__fish_dq_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print every setting: its value and where it comes from (flag, env, file or default); takes every setting\'s flag, to show what a command given it would use'
